#include "http/response_cache.hpp"

#include <functional>

namespace gatehouse::http {

namespace {

/// What an entry costs beyond its texts: list node, index slot, control
/// blocks and string headers, roughly.
constexpr std::size_t entry_overhead = 256;

std::size_t size_of(const std::string& key, const std::string& org_id,
                    const cached_answer& a) {
  std::size_t n = entry_overhead + key.size() + org_id.size()
                  + a.content_type.size() + a.body.size();
  for (auto& [name, value] : a.headers)
    n += name.size() + value.size() + 64;
  return n;
}

} // namespace

response_cache::response_cache(std::size_t capacity_bytes)
  : shard_capacity_(capacity_bytes / shard_count) {
}

std::string response_cache::make_key(std::string_view org_id,
                                     std::string_view provider,
                                     std::string_view model,
                                     std::string_view method,
                                     std::string_view target,
                                     std::string_view canonical_body) {
  // Lengths first, so that no choice of texts can make two keys equal.
  std::string key;
  key.reserve(org_id.size() + provider.size() + model.size() + method.size()
              + target.size() + canonical_body.size() + 64);
  for (auto part : {org_id, provider, model, method, target}) {
    key += std::to_string(part.size());
    key += ':';
    key += part;
  }
  key += canonical_body;
  return key;
}

response_cache::shard& response_cache::shard_of(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shard_count];
}

void response_cache::drop(shard& s, std::list<entry>::iterator it) {
  s.index.erase(std::string_view{it->key});
  s.bytes -= it->bytes;
  s.lru.erase(it);
}

std::shared_ptr<const cached_answer>
response_cache::find(const std::string& key, long long now_ms) {
  auto& s = shard_of(key);
  std::lock_guard guard{s.mtx};
  auto i = s.index.find(std::string_view{key});
  if (i == s.index.end())
    return nullptr;
  auto it = i->second;
  if (it->expires_ms <= now_ms) {
    drop(s, it);
    return nullptr;
  }
  s.lru.splice(s.lru.begin(), s.lru, it);
  return it->answer;
}

void response_cache::put(const std::string& key, const std::string& org_id,
                         std::shared_ptr<const cached_answer> answer,
                         long long expires_ms) {
  auto bytes = size_of(key, org_id, *answer);
  if (bytes > shard_capacity_)
    return;
  auto& s = shard_of(key);
  std::lock_guard guard{s.mtx};
  auto old = s.index.find(std::string_view{key});
  if (old != s.index.end())
    drop(s, old->second);
  while (!s.lru.empty() && s.bytes + bytes > shard_capacity_) {
    drop(s, std::prev(s.lru.end()));
    ++s.evictions;
  }
  s.lru.push_front(entry{key, org_id, std::move(answer), expires_ms, bytes});
  auto it = s.lru.begin();
  s.index.emplace(std::string_view{it->key}, it);
  s.bytes += bytes;
}

std::size_t response_cache::erase_org(const std::string& org_id) {
  std::size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard guard{s.mtx};
    for (auto it = s.lru.begin(); it != s.lru.end();) {
      auto next = std::next(it);
      if (it->org_id == org_id) {
        drop(s, it);
        ++n;
      }
      it = next;
    }
  }
  return n;
}

response_cache::figures response_cache::totals() const {
  figures f;
  for (auto& s : shards_) {
    std::lock_guard guard{s.mtx};
    f.entries += s.lru.size();
    f.bytes += s.bytes;
    f.evictions += s.evictions;
  }
  return f;
}

} // namespace gatehouse::http
