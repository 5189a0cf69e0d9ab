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
  auto fresh = make();
  if (!fresh)
    return fresh;
  std::unique_lock guard{orgs_mtx_};
  // Another thread may have spawned the same org meanwhile: keep the first
  // and let the surplus actor go (it holds no state that was not loaded).
  auto [pos, inserted] = orgs_.emplace(org_id, fresh);
  if (!inserted)
    caf::anon_send_exit(fresh, caf::exit_reason::user_shutdown);
  return pos->second;
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
