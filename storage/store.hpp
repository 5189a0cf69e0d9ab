#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/records.hpp"

namespace gatehouse::storage {

class database;

/// Gatehouse's domain queries, written once for both backends. A write
/// that touches several rows runs in one transaction. Errors are thrown as
/// storage_error; a duplicate slug, email or name as conflict_error. Uses
/// one connection, so one store per thread (or per lease).
class store {
public:
  /// Works on `db`, which must outlive the store.
  explicit store(database& db) : db_(db) {}

  // -- signup ---------------------------------------------------------------

  /// Creates an organization with its owner membership, first key and audit
  /// entry, and the user too when `new_user`. All or nothing; a taken slug
  /// throws conflict_error("orgs.slug"), a taken email "users.email".
  void create_signup(const org_record& org, const user_record& user,
                     bool new_user, const membership_record& membership,
                     const api_key_record& key, const audit_record& audit);

  // -- users ----------------------------------------------------------------

  /// The user with exactly this email.
  std::optional<user_record> find_user_by_email(const std::string& email);

  /// The user with this id.
  std::optional<user_record> find_user(const std::string& id);

  // -- organizations --------------------------------------------------------

  /// The organization with this id.
  std::optional<org_record> find_org(const std::string& id);

  /// The organization with this slug.
  std::optional<org_record> find_org_by_slug(const std::string& slug);

  /// Every organization, oldest first.
  std::vector<org_record> list_orgs();

  /// Stores the name and settings of `org` (slug, plan and creation time
  /// stay) and the audit entry; false when there is no such organization.
  bool update_org(const org_record& org, const audit_record& audit);

  /// Sets the plan and records the audit entry; false when there is no such
  /// organization.
  bool set_org_plan(const std::string& org_id, const std::string& plan,
                    const audit_record& audit);

  // -- memberships ----------------------------------------------------------

  /// The membership of `user_id` in `org_id`, whatever its status.
  std::optional<membership_record> find_membership(const std::string& org_id,
                                                   const std::string& user_id);

  /// The user's memberships (any status) with their organizations: most
  /// recently used first, never-used ones last, ties by joining time.
  std::vector<org_membership> list_user_memberships(const std::string& user_id);

  /// Records that the user used the organization at `now`.
  void touch_membership(const std::string& org_id, const std::string& user_id,
                        const std::string& now);

  /// The user's first active membership in list_user_memberships order.
  std::optional<org_membership> most_recent_org(const std::string& user_id);

  // -- API keys -------------------------------------------------------------

  /// Stores a new key and its audit entry; a duplicate hash throws
  /// conflict_error("api_keys.key_hash").
  void insert_key(const api_key_record& key, const audit_record& audit);

  /// The organization's keys (all statuses), oldest first; only those of
  /// `user_id` when given.
  std::vector<api_key_record>
  list_keys(const std::string& org_id,
            const std::optional<std::string>& user_id = std::nullopt);

  /// The key `id` of the organization.
  std::optional<api_key_record> find_key(const std::string& org_id,
                                         const std::string& id);

  /// Revokes the key (keeping the first revocation time) and records the
  /// audit entry; false when the organization has no such key.
  bool revoke_key(const std::string& org_id, const std::string& id,
                  const std::string& now, const audit_record& audit);

  /// Gives an active key a new hash and prefix; the old hash stays valid
  /// until `previous_valid_until` (unix seconds). Records the audit entry.
  /// False when the organization has no such active key.
  bool rotate_key(const std::string& org_id, const std::string& id,
                  const std::string& new_hash, const std::string& new_prefix,
                  std::int64_t previous_valid_until, const audit_record& audit);

  /// Every key of the organization, for its in-memory key table.
  std::vector<api_key_record> load_org_keys(const std::string& org_id);

  /// Hash -> organization for every active key, plus previous hashes still
  /// valid at `now_unix`: the start-up snapshot of the key directory.
  /// Expiry is left to the organization's key table.
  std::vector<key_index_entry> load_key_index(std::int64_t now_unix);

  /// The number of active (not revoked) keys of the organization.
  std::int64_t count_active_keys(const std::string& org_id);

  // -- misc -----------------------------------------------------------------

  /// True when the organization has the team `id`.
  bool team_exists(const std::string& org_id, const std::string& id);

  /// True when the organization has the app `id`.
  bool app_exists(const std::string& org_id, const std::string& id);

  /// Appends an audit entry.
  void insert_audit(const audit_record& audit);

  /// True when the database answers a trivial query; never throws.
  bool ping() noexcept;

private:
  database& db_;
};

} // namespace gatehouse::storage
