#pragma once

// Typed interfaces and atoms of every long-lived actor. Included only by
// actors/*.cpp and actor tests: CAF headers stay out of the HTTP layer.

#include <cstdint>
#include <functional>
#include <string>

#include <caf/all.hpp>
#include <caf/type_id.hpp>

#include "actors/messages.hpp"
#include "actors/wire.hpp"
#include "policy/sse.hpp"
#include "storage/records.hpp"

namespace gatehouse::storage {
class store;
} // namespace gatehouse::storage

// The message types and atoms of Gatehouse, in one type-ID block. In CAF
// 0.17 the block is a registration list: actors::register_message_types
// (actors/wire.hpp) hands it to the actor system configuration, which knows
// each type by the name written here; atoms travel as `atom_value` and are
// at most 10 characters.
CAF_BEGIN_TYPE_ID_BLOCK(gatehouse, caf::first_custom_type_id)

  CAF_ADD_ATOM(gatehouse, gatehouse::actors, authkey_atom, "authkey")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, create_key_atom, "createkey")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, revoke_key_atom, "revokekey")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, rotate_key_atom, "rotatekey")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, set_plan_atom, "setplan")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, update_org_atom, "updateorg")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, get_org_atom, "getorg")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, auth_hit_atom, "authhit")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, refresh_atom, "refresh")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, authorize_atom, "authorize")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, settle_atom, "settle")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, put_provider_atom, "putprov")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, del_provider_atom, "delprov")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, default_provider_atom, "defprov")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, set_pricing_atom, "setprice")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, targets_atom, "targets")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, log_atom, "log")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, flush_atom, "flush")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, tick_atom, "tick")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, chunk_atom, "chunk")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, end_atom, "end")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, put_team_atom, "putteam")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, del_team_atom, "delteam")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, team_usage_atom, "teamusage")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, put_app_atom, "putapp")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, del_app_atom, "delapp")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, drop_member_atom, "dropmember")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, sweep_atom, "sweep")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, passivate_atom, "passivate")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, lease_miss_atom, "leasemiss")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, lease_low_atom, "leaselow")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, lease_ask_atom, "leaseask")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, lease_grant_atom, "leasegrant")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, lease_recall_atom, "leaserecal")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, lease_return_atom, "leaseret")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, lease_collect_atom, "leasecoll")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, lease_collected_atom, "leasecold")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, lease_timer_atom, "leasetimer")
  CAF_ADD_ATOM(gatehouse, gatehouse::actors, rehome_atom, "rehome")

  // What org actors receive and answer; see actors/wire.hpp.
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::audit_ctx))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::key_verdict))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::org_update))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::proxy_request))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::authorization))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::settlement))
  CAF_ADD_TYPE_ID(gatehouse, (std::vector<gatehouse::actors::team_usage>))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::storage::api_key_record))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::storage::org_record))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::storage::provider_record))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::storage::team_record))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::storage::app_record))
  CAF_ADD_TYPE_ID(gatehouse, (std::vector<gatehouse::storage::price_override>))
  // What org actors send to the storage writer, and the auth limiter's
  // answer: plain data too.
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::storage::log_write))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::limit_decision))
  // Budget leases between members (actors/org_lease.cpp).
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::lease_ask))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::lease_grant))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::lease_return))
  CAF_ADD_TYPE_ID(gatehouse, (gatehouse::actors::lease_collected))

CAF_END_TYPE_ID_BLOCK(gatehouse)

namespace gatehouse::actors {

/// One unit of blocking storage work, run by a storage worker.
struct db_job {
  std::function<void(storage::store&)> run;
};

/// Hands an authorization straight back to the HTTP front: the fast path
/// that spares a reply round trip through a bridge actor.
struct auth_reply {
  std::function<void(authorization)> fn;
};

/// One finished exchange for the storage writer: its log record and the
/// counters it moves.
using log_entry = storage::log_write;

/// The actor of one organization: owns its plan, settings and key table and
/// serializes every decision about them.
using org_actor = caf::typed_actor<
  // Is the key with this hash usable at time now_s?
  caf::replies_to<authkey_atom, std::string, int64_t>::with<key_verdict>,
  // Create a key (limit-checked), answering the stored record.
  caf::replies_to<create_key_atom, storage::api_key_record, audit_ctx>::with<
    storage::api_key_record>,
  // Revoke key by id.
  caf::replies_to<revoke_key_atom, std::string, audit_ctx>::with<
    storage::api_key_record>,
  // Rotate key by id: new hash, new prefix, overlap hours.
  caf::replies_to<rotate_key_atom, std::string, std::string, std::string,
                  int32_t, audit_ctx>::with<storage::api_key_record>,
  // Change the plan.
  caf::replies_to<set_plan_atom, std::string, audit_ctx>::with<
    storage::org_record>,
  // Change name and/or settings.
  caf::replies_to<update_org_atom, org_update, audit_ctx>::with<
    storage::org_record>,
  // Current organization record.
  caf::replies_to<get_org_atom>::with<storage::org_record>,
  // Re-read plan, name and settings from storage (changes made outside
  // this node or by the command line; the change watcher sends it).
  caf::reacts_to<refresh_atom>,
  // Stop if still idle: the idle sweep saw this many holds taken in all
  // (see directory::retire); the time is now in milliseconds.
  caf::reacts_to<passivate_atom, uint64_t, int64_t>,
  // Authorize a proxied request (request/response form, for tests and
  // bridges).
  caf::replies_to<authorize_atom, proxy_request>::with<authorization>,
  // Authorize a proxied request and call back (hot path).
  caf::reacts_to<authorize_atom, proxy_request, auth_reply>,
  // The key's providers and scopes, for GET /v1/models.
  caf::replies_to<targets_atom, std::string, int64_t>::with<authorization>,
  caf::reacts_to<targets_atom, std::string, int64_t, auth_reply>,
  // Account for a finished exchange.
  caf::reacts_to<settle_atom, settlement>,
  // Create (true) or replace (false) a provider.
  caf::replies_to<put_provider_atom, storage::provider_record, bool,
                  audit_ctx>::with<storage::provider_record>,
  // Delete a provider by name.
  caf::replies_to<del_provider_atom, std::string, audit_ctx>::with<
    storage::provider_record>,
  // Make a provider the default.
  caf::replies_to<default_provider_atom, std::string, audit_ctx>::with<
    std::string>,
  // Replace the org's price overrides.
  caf::replies_to<set_pricing_atom, std::vector<storage::price_override>,
                  audit_ctx>::with<bool>,
  // Create (true) or replace (false) a team.
  caf::replies_to<put_team_atom, storage::team_record, bool, audit_ctx>::with<
    storage::team_record>,
  // Delete a team (its members and keys become unassigned).
  caf::replies_to<del_team_atom, std::string, audit_ctx>::with<bool>,
  // Live month-to-date figures of every team at time now_s.
  caf::replies_to<team_usage_atom, int64_t>::with<std::vector<team_usage>>,
  // Create (true) or replace (false) an app.
  caf::replies_to<put_app_atom, storage::app_record, bool, audit_ctx>::with<
    storage::app_record>,
  // Delete an app with its keys and logs.
  caf::replies_to<del_app_atom, std::string, audit_ctx>::with<bool>,
  // Remove a member; their keys in the org are revoked.
  caf::replies_to<drop_member_atom, std::string, audit_ctx>::with<bool>,
  // -- budget leases in a cluster (actors/org_lease.cpp) --------------------
  // A request whose rate-limit hit is taken and whose team budget the
  // published view could not reserve (authorization::deferred).
  caf::reacts_to<lease_miss_atom, proxy_request, auth_reply>,
  // Less than the low water is left of a team's lease: ask for the next
  // one (team id, the estimate of the request that noticed).
  caf::reacts_to<lease_low_atom, std::string, int64_t>,
  // On the home: a member asks for budget; answer to the actor given.
  caf::reacts_to<lease_ask_atom, lease_ask, caf::actor>,
  // On a member: the home's answer.
  caf::reacts_to<lease_grant_atom, lease_grant>,
  // On a member: the home calls the unused rest of a team's lease back
  // (team id, month).
  caf::reacts_to<lease_recall_atom, std::string, std::string>,
  // On the home: budget given back.
  caf::reacts_to<lease_return_atom, lease_return>,
  // On a member: a new home collects the org's state (month, its node id,
  // the actor to answer).
  caf::reacts_to<lease_collect_atom, std::string, std::string, caf::actor>,
  // On the new home: a member's part of it.
  caf::reacts_to<lease_collected_atom, lease_collected>,
  // A lease exchange's deadline (kind, sequence number).
  caf::reacts_to<lease_timer_atom, int32_t, uint64_t>,
  // The members changed: is this node still the org's home?
  caf::reacts_to<rehome_atom>>;

/// Batches request logs and counters into group commits.
using storage_writer_actor = caf::typed_actor<
  caf::reacts_to<log_atom, log_entry>,
  // Entries are waiting in the shared inbox.
  caf::reacts_to<log_atom>,
  caf::reacts_to<tick_atom>,
  // Write everything pending now; answers once committed.
  caf::replies_to<flush_atom>::with<bool>>;

/// Counts one SSE stream's usage and text; reports them at its end. The
/// end message carries the events of the last read, so that a stream that
/// arrives in one read costs the actor a single message.
struct end_reply {
  std::function<void(stream_summary)> fn;
};
using stream_actor = caf::typed_actor<
  caf::reacts_to<chunk_atom, std::vector<policy::sse_event>>,
  caf::reacts_to<end_atom, std::vector<policy::sse_event>, end_reply>>;

/// Sliding-window limiter of the authentication endpoints.
using auth_limiter_actor = caf::typed_actor<
  caf::replies_to<auth_hit_atom, std::string, int64_t>::with<limit_decision>>;

/// Converts a domain problem into a CAF error (category "gatehouse").
caf::error to_error(const policy::problem& p);

/// Converts a CAF error back; errors of other categories become
/// `internal_error`.
policy::problem to_problem(const caf::error& e);

} // namespace gatehouse::actors

// Local-only messages: each carries a function to run on this node (a
// storage job, the fast path's completion callbacks) or, for the stream
// relay, events that never leave the node. They have request/response
// forms where another node may need the same answer (see
// docs/architecture.md, "Message types").
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::db_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::auth_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::end_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<gatehouse::policy::sse_event>)
