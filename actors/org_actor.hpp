#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/fwd.hpp"

namespace gatehouse::actors {

class directory;

/// What an org actor starts from, loaded from storage.
struct org_snapshot {
  storage::org_record org;
  std::vector<storage::api_key_record> keys;
};

/// One key in the org actor's table.
struct key_entry {
  storage::api_key_record rec;
  std::optional<long long> expires_s;
};

/// State of an org actor.
struct org_state {
  storage::org_record org;
  std::unordered_map<std::string, key_entry> keys;  ///< by key id
  std::unordered_map<std::string, std::string> ids; ///< key hash -> key id
  std::shared_ptr<directory> dir;
  caf::actor db;
  /// Counts committed mutations, so a refresh that raced one is dropped.
  uint64_t version = 0;
  static inline const char* name = "org_actor";
};

/// Spawns with `self->spawn(org_actor_impl, snapshot, dir, db)`: `db` runs
/// storage jobs (see storage_worker.hpp); the org actor awaits each write
/// before it changes its state and answers.
/// How often an org actor re-reads its organization row.
constexpr std::chrono::seconds org_refresh_interval{5};

org_actor::behavior_type
org_actor_impl(org_actor::stateful_pointer<org_state> self, org_snapshot snap,
               std::shared_ptr<directory> dir, caf::actor db);

} // namespace gatehouse::actors
