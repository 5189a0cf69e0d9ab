#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gatehouse::storage {

// Plain rows as the store reads and writes them. Timestamps are RFC 3339
// UTC strings ("2026-11-23T13:16:20Z") unless a field says otherwise; ids
// are UUID strings; JSON columns travel as text.

/// An organization (tenant).
struct org_record {
  std::string id;
  std::string slug;
  std::string name;
  std::string plan;
  /// JSON object, `{}` when nothing is set.
  std::string settings_json = "{}";
  std::string created_at;
};

/// A user account; one user may belong to several organizations.
struct user_record {
  std::string id;
  /// As given by the caller; the store compares emails exactly, so callers
  /// normalize them (lower case) first.
  std::string email;
  std::string display_name;
  /// bcrypt hash; empty for a user who has only been invited.
  std::string password_hash;
  std::string created_at;
};

/// A user's membership of an organization.
struct membership_record {
  std::string org_id;
  std::string user_id;
  /// `owner`, `admin`, `member` or `viewer`.
  std::string role;
  /// `active`, `invited` or `suspended`.
  std::string status = "active";
  std::optional<std::string> team_id;
  /// Empty while the membership is only an invitation (stored as NULL).
  std::string joined_at;
  std::optional<std::string> last_active_at;
  std::optional<std::string> last_used_at;
};

/// An organization together with the caller's membership of it.
struct org_membership {
  org_record org;
  membership_record membership;
};

/// A Gatehouse API key; the raw key is never stored, only its SHA-256.
struct api_key_record {
  std::string id;
  std::string org_id;
  /// The user who created (and owns) the key.
  std::string user_id;
  std::string name;
  /// SHA-256 of the raw key, lowercase hex.
  std::string key_hash;
  /// The first 12 characters of the raw key.
  std::string key_prefix;
  /// The hash before the last rotation, valid until previous_valid_until.
  std::optional<std::string> previous_key_hash;
  /// Unix seconds (compared on the hot path, hence not a string).
  std::optional<std::int64_t> previous_valid_until;
  std::vector<std::string> scopes{"*"};
  std::optional<std::string> app_id;
  std::optional<std::string> team_id;
  std::optional<int> rate_limit_rpm;
  /// `active` or `revoked`.
  std::string status = "active";
  std::string created_at;
  std::optional<std::string> expires_at;
  std::optional<std::string> revoked_at;
  std::optional<std::string> last_used_at;
  std::int64_t request_count = 0;
};

/// One entry of the key-hash -> organization snapshot.
struct key_index_entry {
  std::string key_hash;
  std::string org_id;
};

/// One audit-log entry: who changed what, with the state before and after
/// (secrets masked by the caller).
struct audit_record {
  std::string id;
  std::string org_id;
  /// `user`, `key`, `operator` or `system`.
  std::string actor_type;
  /// User id, key prefix, or empty.
  std::string actor_id;
  /// e.g. `key.create`, `org.update`.
  std::string action;
  std::string target_type;
  std::string target_id;
  /// JSON, or nullopt when there is no state (before a creation).
  std::optional<std::string> before_json;
  /// JSON, or nullopt when there is no state (after a deletion).
  std::optional<std::string> after_json;
  std::string ip;
  std::string created_at;
};

} // namespace gatehouse::storage
