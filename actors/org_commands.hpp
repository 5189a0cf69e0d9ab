#pragma once

// The mutations of an organization as commands: each a plain struct, each
// decided by a function of the org's state that answers what to write (one
// store call and its audit entry) and what changes once it is written, or
// the API error. No messaging, no I/O: the org actor runs the write, then
// applies the change (org_actor.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "actors/org_actor.hpp"
#include "policy/outcome.hpp"

namespace gatehouse::actors {

/// What an org actor is asked to change.
namespace cmd {

struct create_key {
  storage::api_key_record rec;
};
struct revoke_key {
  std::string id;
};
struct rotate_key {
  std::string id;
  std::string new_hash;
  std::string new_prefix;
  std::int32_t overlap_hours = 0;
};
struct set_plan {
  std::string plan;
};
struct update_org {
  org_update change;
};
/// Create (`is_new`) or replace a provider.
struct put_provider {
  storage::provider_record rec;
  bool is_new = false;
};
struct delete_provider {
  std::string name;
};
struct default_provider {
  std::string name;
};
/// Replace all price overrides.
struct set_pricing {
  std::vector<storage::price_override> prices;
};
struct put_team {
  storage::team_record rec;
  bool is_new = false;
};
struct delete_team {
  std::string id;
};
struct put_app {
  storage::app_record rec;
  bool is_new = false;
};
struct delete_app {
  std::string id;
};
/// Remove a member; their keys in the org are revoked.
struct drop_member {
  std::string user_id;
};

} // namespace cmd

/// The one store call of a decision (its audit entry travels beside it).
namespace write {

struct insert_key {
  storage::api_key_record rec;
};
struct revoke_key {
  std::string org_id;
  std::string id;
  std::string now; ///< RFC 3339
};
/// The key as rotated (new hash and prefix, previous_valid_until set).
struct rotate_key {
  storage::api_key_record rec;
};
struct set_plan {
  std::string org_id;
  std::string plan;
};
struct update_org {
  storage::org_record org;
};
struct insert_provider {
  storage::provider_record rec;
};
struct update_provider {
  storage::provider_record rec;
};
struct delete_provider {
  std::string org_id;
  std::string name;
};
struct set_default_provider {
  std::string org_id;
  std::string name;
};
struct replace_prices {
  std::string org_id;
  std::vector<storage::price_override> prices;
};
struct insert_team {
  storage::team_record rec;
};
/// Fails when the team is gone.
struct update_team {
  storage::team_record rec;
};
struct delete_team {
  std::string org_id;
  std::string id;
};
struct insert_app {
  storage::app_record rec;
};
/// Fails when the app is gone.
struct update_app {
  storage::app_record rec;
};
struct delete_app {
  std::string org_id;
  std::string id;
};
struct delete_membership {
  std::string org_id;
  std::string user_id;
  std::string now; ///< RFC 3339
};

} // namespace write

/// Any store call of a decision.
using storage_write =
  std::variant<write::insert_key, write::revoke_key, write::rotate_key,
               write::set_plan, write::update_org, write::insert_provider,
               write::update_provider, write::delete_provider,
               write::set_default_provider, write::replace_prices,
               write::insert_team, write::update_team, write::delete_team,
               write::insert_app, write::update_app, write::delete_app,
               write::delete_membership>;

/// Runs a write with its audit entry in one transaction of `s`; throws
/// storage::storage_error as the store does (also when an updated team or
/// app vanished).
void perform(storage::store& s, const storage_write& w,
             const storage::audit_record& audit);

/// The changes the org actor applies once a write committed.
namespace change {

/// A key was created, revoked or rotated: its record now.
struct key_put {
  storage::api_key_record rec;
  /// Rotation: the hash two rotations old, dropped for good.
  std::optional<std::string> dropped_hash;
  /// Revocation: the key's hashes leave the directory.
  bool revoked = false;
};
struct org_put {
  storage::org_record org;
};
struct provider_put {
  storage::provider_record rec;
  upstream_target target;
};
struct provider_deleted {
  storage::provider_record rec;
};
struct default_set {
  std::string name;
};
struct prices_set {
  std::vector<storage::price_override> prices;
};
struct team_put {
  storage::team_record rec;
};
struct team_deleted {
  std::string id;
};
struct app_put {
  storage::app_record rec;
};
struct app_deleted {
  std::string id;
};
struct member_dropped {
  std::string user_id;
  std::string now; ///< RFC 3339: the revocation time of their keys
};

} // namespace change

/// A command accepted: what to write, then what changes. Without `write`
/// nothing changes and the actor answers from `change` at once.
template <class Change>
struct decision {
  std::optional<storage_write> write;
  storage::audit_record audit;
  Change change;
};

/// Decides a command against `st` on behalf of `who`.
policy::outcome<decision<change::key_put>>
decide(const org_view& st, const cmd::create_key& c, const audit_ctx& who);
policy::outcome<decision<change::key_put>>
decide(const org_view& st, const cmd::revoke_key& c, const audit_ctx& who);
policy::outcome<decision<change::key_put>>
decide(const org_view& st, const cmd::rotate_key& c, const audit_ctx& who);
policy::outcome<decision<change::org_put>>
decide(const org_view& st, const cmd::set_plan& c, const audit_ctx& who);
policy::outcome<decision<change::org_put>>
decide(const org_view& st, const cmd::update_org& c, const audit_ctx& who);
/// Needs the node's secrets to check that the provider's key can be read.
policy::outcome<decision<change::provider_put>>
decide(const org_view& st, const cmd::put_provider& c, const audit_ctx& who,
       const storage::secrets& secrets);
policy::outcome<decision<change::provider_deleted>>
decide(const org_view& st, const cmd::delete_provider& c,
       const audit_ctx& who);
policy::outcome<decision<change::default_set>>
decide(const org_view& st, const cmd::default_provider& c,
       const audit_ctx& who);
policy::outcome<decision<change::prices_set>>
decide(const org_view& st, const cmd::set_pricing& c, const audit_ctx& who);
policy::outcome<decision<change::team_put>>
decide(const org_view& st, const cmd::put_team& c, const audit_ctx& who);
policy::outcome<decision<change::team_deleted>>
decide(const org_view& st, const cmd::delete_team& c, const audit_ctx& who);
/// `app_recs`: the org's apps as stored, by id (for the audit's before).
policy::outcome<decision<change::app_put>>
decide(const org_view& st,
       const std::map<std::string, storage::app_record>& app_recs,
       const cmd::put_app& c, const audit_ctx& who);
policy::outcome<decision<change::app_deleted>>
decide(const org_view& st,
       const std::map<std::string, storage::app_record>& app_recs,
       const cmd::delete_app& c, const audit_ctx& who);
policy::outcome<decision<change::member_dropped>>
decide(const org_view& st, const cmd::drop_member& c, const audit_ctx& who);

} // namespace gatehouse::actors
