#pragma once

// The response cache: whole answers of proxied requests, kept in memory by
// an exact key (org, provider, model, request target and canonical body),
// bounded in bytes and evicted least recently used first.

#include <array>
#include <atomic>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gatehouse::http {

/// An answer as it is replayed: status, content type, the provider's
/// headers (none of Gatehouse's own) and the body.
struct cached_answer {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// Thread-safe LRU cache of answers, in 16 shards with a lock each, so
/// that I/O threads rarely meet. Entries of different orgs never share a
/// key (the org id is part of it).
class response_cache {
public:
  /// A cache of at most `capacity_bytes` (keys, answers and bookkeeping).
  explicit response_cache(std::size_t capacity_bytes);

  /// The key of a request: org, provider, model, method and target, and
  /// the canonical JSON of the body sent upstream.
  static std::string make_key(std::string_view org_id,
                              std::string_view provider,
                              std::string_view model, std::string_view method,
                              std::string_view target,
                              std::string_view canonical_body);

  /// The answer under `key` unless it expired at `now_ms`; null for none.
  std::shared_ptr<const cached_answer> find(const std::string& key,
                                            long long now_ms);

  /// Keeps `answer` under `key` until `expires_ms`, evicting the least
  /// recently used entries of its shard as needed. An answer bigger than a
  /// shard's share is not kept.
  void put(const std::string& key, const std::string& org_id,
           std::shared_ptr<const cached_answer> answer, long long expires_ms);

  /// Removes every entry of `org_id`; answers how many there were.
  std::size_t erase_org(const std::string& org_id);

  /// Node-wide figures for the metrics.
  struct figures {
    std::size_t entries = 0;
    std::size_t bytes = 0;
    std::uint64_t evictions = 0;
  };
  figures totals() const;

private:
  struct entry {
    std::string key;
    std::string org_id;
    std::shared_ptr<const cached_answer> answer;
    long long expires_ms = 0;
    std::size_t bytes = 0;
  };
  struct shard {
    mutable std::mutex mtx;
    std::list<entry> lru; ///< most recently used first
    std::unordered_map<std::string_view, std::list<entry>::iterator> index;
    std::size_t bytes = 0;
    std::uint64_t evictions = 0;
  };
  static constexpr std::size_t shard_count = 16;

  shard& shard_of(const std::string& key);
  static void drop(shard& s, std::list<entry>::iterator it);

  std::size_t shard_capacity_;
  std::array<shard, shard_count> shards_;
};

} // namespace gatehouse::http
