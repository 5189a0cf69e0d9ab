#pragma once

// Typed interfaces and atoms of every long-lived actor. Included only by
// actors/*.cpp and actor tests: CAF headers stay out of the HTTP layer.

#include <cstdint>
#include <functional>
#include <string>

#include <caf/all.hpp>

#include "actors/messages.hpp"
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

constexpr auto authkey_atom_v = authkey_atom::value;
constexpr auto create_key_atom_v = create_key_atom::value;
constexpr auto revoke_key_atom_v = revoke_key_atom::value;
constexpr auto rotate_key_atom_v = rotate_key_atom::value;
constexpr auto set_plan_atom_v = set_plan_atom::value;
constexpr auto update_org_atom_v = update_org_atom::value;
constexpr auto get_org_atom_v = get_org_atom::value;
constexpr auto auth_hit_atom_v = auth_hit_atom::value;
constexpr auto refresh_atom_v = refresh_atom::value;

/// One unit of blocking storage work, run by a storage worker.
struct db_job {
  std::function<void(storage::store&)> run;
};

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
  // this node or by the command line).
  caf::reacts_to<refresh_atom>>;

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
