#include "actors/directory.hpp"

namespace gatehouse::actors {

directory::key_shard& directory::shard_of(const std::string& key_hash) const {
  return keys_[std::hash<std::string>{}(key_hash) % shard_count];
}

void directory::add_key(const std::string& key_hash,
                        const std::string& org_id) {
  auto& s = shard_of(key_hash);
  std::unique_lock guard{s.mtx};
  s.org_by_hash[key_hash] = org_id;
}

void directory::remove_key(const std::string& key_hash) {
  auto& s = shard_of(key_hash);
  std::unique_lock guard{s.mtx};
  s.org_by_hash.erase(key_hash);
}

std::optional<std::string>
directory::org_of_key(const std::string& key_hash) const {
  auto& s = shard_of(key_hash);
  std::shared_lock guard{s.mtx};
  auto i = s.org_by_hash.find(key_hash);
  if (i == s.org_by_hash.end())
    return std::nullopt;
  return i->second;
}

org_actor directory::find_org(const std::string& org_id) const {
  std::shared_lock guard{orgs_mtx_};
  auto i = orgs_.find(org_id);
  return i == orgs_.end() ? org_actor{} : i->second;
}

org_actor directory::get_or_spawn(const std::string& org_id,
                                  const std::function<org_actor()>& make) {
  if (auto found = find_org(org_id))
    return found;
  std::shared_ptr<spawning> mine;
  {
    std::unique_lock guard{orgs_mtx_};
    if (auto i = orgs_.find(org_id); i != orgs_.end())
      return i->second;
    if (auto i = spawning_.find(org_id); i != spawning_.end()) {
      // Another caller is making this org's actor: wait for it.
      auto other = i->second;
      other->ready.wait(guard, [&] { return other->done; });
      return other->result;
    }
    mine = std::make_shared<spawning>();
    spawning_.emplace(org_id, mine);
  }
  // Whatever happens, the waiters learn the outcome and the marker goes.
  auto finish = [&](org_actor result) {
    std::unique_lock guard{orgs_mtx_};
    if (result)
      orgs_.emplace(org_id, result);
    spawning_.erase(org_id);
    mine->result = result;
    mine->done = true;
    mine->ready.notify_all();
  };
  org_actor fresh;
  try {
    fresh = make();
  } catch (...) {
    finish({});
    throw;
  }
  finish(fresh);
  return fresh;
}

void directory::publish(const std::string& org_id,
                        std::shared_ptr<const org_view> view) {
  std::unique_lock guard{orgs_mtx_};
  views_[org_id] = std::move(view);
}

std::shared_ptr<const org_view>
directory::view_of(const std::string& org_id) const {
  std::shared_lock guard{orgs_mtx_};
  auto i = views_.find(org_id);
  return i == views_.end() ? nullptr : i->second;
}

std::vector<org_actor> directory::all_orgs() const {
  std::shared_lock guard{orgs_mtx_};
  std::vector<org_actor> out;
  for (auto& [id, hdl] : orgs_)
    out.push_back(hdl);
  return out;
}

} // namespace gatehouse::actors
