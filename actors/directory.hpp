#pragma once

#include <array>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "actors/fwd.hpp"

namespace gatehouse::actors {

struct org_view;

/// Maps API-key hashes to org ids and org ids to their org actors.
///
/// Thread-safe and sharded, so that HTTP threads read it concurrently without
/// funnelling through one actor. Org actors keep the key part current.
class directory {
public:
  /// Records that `key_hash` belongs to `org_id`.
  void add_key(const std::string& key_hash, const std::string& org_id);

  /// Forgets `key_hash`.
  void remove_key(const std::string& key_hash);

  /// The org owning `key_hash`, if any.
  std::optional<std::string> org_of_key(const std::string& key_hash) const;

  /// The running actor of `org_id`, or an invalid handle.
  org_actor find_org(const std::string& org_id) const;

  /// The actor of `org_id`, spawned with `make` when not running yet. At
  /// most one `make` per org runs at a time: callers that arrive meanwhile
  /// wait for its result, so an org never gets two actors. `make` runs
  /// outside the directory's lock (it may read storage) and may return an
  /// invalid handle (org unknown); an exception from it reaches its caller
  /// and the waiting callers get an invalid handle.
  org_actor get_or_spawn(const std::string& org_id,
                         const std::function<org_actor()>& make);

  /// All running org actors (for shutdown).
  std::vector<org_actor> all_orgs() const;

  /// Makes `view` what requests of `org_id` are authorized from.
  void publish(const std::string& org_id,
               std::shared_ptr<const org_view> view);

  /// The last view `org_id`'s actor published, if any.
  std::shared_ptr<const org_view> view_of(const std::string& org_id) const;

private:
  static constexpr std::size_t shard_count = 16;
  struct key_shard {
    mutable std::shared_mutex mtx;
    std::unordered_map<std::string, std::string> org_by_hash;
  };
  key_shard& shard_of(const std::string& key_hash) const;

  mutable std::array<key_shard, shard_count> keys_;
  /// An org whose actor is being made; callers of get_or_spawn wait on it.
  struct spawning {
    std::condition_variable_any ready;
    bool done = false;
    org_actor result;
  };

  mutable std::shared_mutex orgs_mtx_;
  std::unordered_map<std::string, org_actor> orgs_;
  std::unordered_map<std::string, std::shared_ptr<spawning>> spawning_;
  std::unordered_map<std::string, std::shared_ptr<const org_view>> views_;
};

} // namespace gatehouse::actors
