#pragma once

// Typed interfaces and atoms of every long-lived actor. Included only by
// actors/*.cpp and actor tests: CAF headers stay out of the HTTP layer.

#include <cstdint>
#include <functional>
#include <string>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "policy/sse.hpp"
#include "storage/records.hpp"

namespace gatehouse::storage {
class store;
} // namespace gatehouse::storage

namespace gatehouse::actors {

// Atoms (at most 10 characters in CAF 0.17).
using authkey_atom = caf::atom_constant<caf::atom("authkey")>;
using create_key_atom = caf::atom_constant<caf::atom("createkey")>;
using revoke_key_atom = caf::atom_constant<caf::atom("revokekey")>;
using rotate_key_atom = caf::atom_constant<caf::atom("rotatekey")>;
using set_plan_atom = caf::atom_constant<caf::atom("setplan")>;
using update_org_atom = caf::atom_constant<caf::atom("updateorg")>;
using get_org_atom = caf::atom_constant<caf::atom("getorg")>;
using auth_hit_atom = caf::atom_constant<caf::atom("authhit")>;
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;
using authorize_atom = caf::atom_constant<caf::atom("authorize")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;
using put_provider_atom = caf::atom_constant<caf::atom("putprov")>;
using del_provider_atom = caf::atom_constant<caf::atom("delprov")>;
using default_provider_atom = caf::atom_constant<caf::atom("defprov")>;
using set_pricing_atom = caf::atom_constant<caf::atom("setprice")>;
using targets_atom = caf::atom_constant<caf::atom("targets")>;
using log_atom = caf::atom_constant<caf::atom("log")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using chunk_atom = caf::atom_constant<caf::atom("chunk")>;
using end_atom = caf::atom_constant<caf::atom("end")>;
using put_team_atom = caf::atom_constant<caf::atom("putteam")>;
using del_team_atom = caf::atom_constant<caf::atom("delteam")>;
using team_usage_atom = caf::atom_constant<caf::atom("teamusage")>;
using put_app_atom = caf::atom_constant<caf::atom("putapp")>;
using del_app_atom = caf::atom_constant<caf::atom("delapp")>;
using drop_member_atom = caf::atom_constant<caf::atom("dropmember")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;

constexpr auto authkey_atom_v = authkey_atom::value;
constexpr auto create_key_atom_v = create_key_atom::value;
constexpr auto revoke_key_atom_v = revoke_key_atom::value;
constexpr auto rotate_key_atom_v = rotate_key_atom::value;
constexpr auto set_plan_atom_v = set_plan_atom::value;
constexpr auto update_org_atom_v = update_org_atom::value;
constexpr auto get_org_atom_v = get_org_atom::value;
constexpr auto auth_hit_atom_v = auth_hit_atom::value;
constexpr auto refresh_atom_v = refresh_atom::value;
constexpr auto authorize_atom_v = authorize_atom::value;
constexpr auto settle_atom_v = settle_atom::value;
constexpr auto put_provider_atom_v = put_provider_atom::value;
constexpr auto del_provider_atom_v = del_provider_atom::value;
constexpr auto default_provider_atom_v = default_provider_atom::value;
constexpr auto set_pricing_atom_v = set_pricing_atom::value;
constexpr auto targets_atom_v = targets_atom::value;
constexpr auto log_atom_v = log_atom::value;
constexpr auto flush_atom_v = flush_atom::value;
constexpr auto tick_atom_v = tick_atom::value;
constexpr auto chunk_atom_v = chunk_atom::value;
constexpr auto end_atom_v = end_atom::value;
constexpr auto put_team_atom_v = put_team_atom::value;
constexpr auto del_team_atom_v = del_team_atom::value;
constexpr auto team_usage_atom_v = team_usage_atom::value;
constexpr auto put_app_atom_v = put_app_atom::value;
constexpr auto del_app_atom_v = del_app_atom::value;
constexpr auto drop_member_atom_v = drop_member_atom::value;
constexpr auto sweep_atom_v = sweep_atom::value;
constexpr auto passivate_atom_v = passivate_atom::value;

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
  caf::replies_to<drop_member_atom, std::string, audit_ctx>::with<bool>>;

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

// These types cross only local mailboxes for now; remote org actors need an
// `inspect` overload for each of them.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::db_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::audit_ctx)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::key_verdict)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::org_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::limit_decision)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::storage::api_key_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::storage::org_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::storage::provider_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::storage::team_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::storage::app_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<gatehouse::actors::team_usage>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<gatehouse::storage::price_override>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::proxy_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::authorization)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::auth_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::settlement)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::log_entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<gatehouse::policy::sse_event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gatehouse::actors::end_reply)
