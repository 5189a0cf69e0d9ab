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
  /// The org's guardrail rules: a JSON array, `[]` for none.
  std::string guardrails_json = "[]";
  /// The org's model aliases: a JSON object of names to models, `{}` for
  /// none.
  std::string aliases_json = "{}";
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
  /// SHA-256 (hex) of the pending invitation's token; unique, cleared when
  /// the invitation is accepted.
  std::optional<std::string> invite_token_hash;
  /// When the (latest) invitation was issued.
  std::optional<std::string> invited_at;
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
  /// The key's own guardrail rules: a JSON array, `[]` for none.
  std::string guardrails_json = "[]";
};

/// One entry of the key-hash -> organization snapshot.
struct key_index_entry {
  std::string key_hash;
  std::string org_id;
};

/// One entry of the change log of organizations (see store::org_changes).
struct org_change {
  std::int64_t seq = 0;
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

/// An upstream LLM provider of an organization.
struct provider_record {
  std::string id;
  std::string org_id;
  /// Unique in the organization.
  std::string name;
  std::string base_url;
  /// `api_key` (Gatehouse sends the stored key) or `passthrough`.
  std::string auth_mode = "api_key";
  /// The provider's API key sealed by secrets (hex); none in passthrough.
  std::optional<std::string> api_key_encrypted;
  /// The last four characters of the key, for display.
  std::optional<std::string> api_key_last4;
  std::string auth_header = "Authorization";
  /// Empty: the bare key is sent.
  std::string auth_scheme = "Bearer";
  /// Names of the providers tried next, in order.
  std::vector<std::string> fallback;
  /// At most one provider of an organization is the default.
  bool is_default = false;
  std::string created_at;
  std::string updated_at;
  /// The API format it speaks, "openai" or "anthropic"; nullopt: derived
  /// from its name and base URL (policy::default_provider_format).
  std::optional<std::string> format;
};

/// One proxied request, as logged.
struct request_log_record {
  std::string id;
  std::string org_id;
  /// The X-Gatehouse-Request-Id of the request.
  std::string request_id;
  std::optional<std::string> key_id;
  std::optional<std::string> key_prefix;
  std::optional<std::string> app_id;
  std::optional<std::string> team_id;
  std::optional<std::string> user_id;
  std::string provider;
  std::string model;
  std::string method;
  std::string path;
  int status = 0;
  std::optional<std::string> error_code;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  std::int64_t cost_micros = 0;
  bool usage_estimated = false;
  /// The model had no price: the cost is 0.
  bool unpriced = false;
  std::int64_t latency_ms = 0;
  /// Time to the first byte (streams).
  std::optional<std::int64_t> ttft_ms;
  bool stream = false;
  std::optional<std::string> session_id;
  std::optional<std::string> end_user;
  /// JSON object from X-Gatehouse-Metadata.
  std::optional<std::string> metadata_json;
  std::optional<std::string> env;
  std::optional<std::string> request_body;
  std::optional<std::string> response_body;
  /// The guardrail rules that matched: a JSON array of
  /// `{rule, action, count}`; nullopt when none did.
  std::optional<std::string> guardrails_json;
  /// The client's model when an alias replaced it (`model` is then the
  /// alias's target); nullopt when no alias applied.
  std::optional<std::string> requested_model;
  /// "hit" or "miss" when the response cache was asked; nullopt otherwise.
  std::optional<std::string> cache;
  /// The formats translated between, e.g. "openai->anthropic"; nullopt
  /// when the request was relayed in its own format.
  std::optional<std::string> translated;
  /// RFC 3339 UTC with milliseconds, "2026-11-23T13:16:20.042Z", so that
  /// the text sorts in time order.
  std::string created_at;
};

/// An increment of one monthly usage counter.
struct usage_delta {
  std::string org_id;
  /// `key`, `app` or `team`.
  std::string scope_type;
  std::string scope_id;
  /// UTC calendar month, `YYYY-MM`.
  std::string month;
  std::int64_t requests = 0;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  std::int64_t cost_micros = 0;
};

/// Use of an API key since the last batch.
struct key_use {
  std::string key_id;
  std::string org_id;
  /// The latest use (RFC 3339); older values never overwrite newer ones.
  std::string last_used_at;
  std::int64_t requests = 0;
};

/// One finished exchange as the data plane hands it to storage: its request
/// log and the counters and key use it moves.
struct log_write {
  request_log_record log;
  std::vector<usage_delta> deltas;
  std::optional<key_use> key;
};

/// An organization's own price of a model, in micro-dollars per million
/// tokens.
struct price_override {
  std::string model;
  std::int64_t input_micros_per_mtok = 0;
  std::int64_t output_micros_per_mtok = 0;
};

/// A team of an organization.
struct team_record {
  std::string id;
  std::string org_id;
  /// Unique in the organization.
  std::string name;
  std::string description;
  /// Monthly hard cap; nullopt for none.
  std::optional<std::int64_t> monthly_spend_limit_micros;
  std::string created_at;
};

/// An app (project) of an organization.
struct app_record {
  std::string id;
  std::string org_id;
  std::string name;
  /// Unique in the organization, immutable.
  std::string slug;
  std::string description;
  /// `ai_gateway`, `ai_wrapper`, `api_gateway` or `mcp_gateway`.
  std::string project_type = "ai_gateway";
  /// `dev`, `staging` or `prod`.
  std::string env = "dev";
  bool is_active = true;
  /// JSON object.
  std::string metadata_json = "{}";
  std::string created_at;
  /// The app's guardrail rules: a JSON array, `[]` for none.
  std::string guardrails_json = "[]";
  /// The app's model aliases: a JSON object, `{}` for none.
  std::string aliases_json = "{}";
  /// The app's response cache: `{"enabled", "ttl_seconds"}`, `{}` for off.
  std::string cache_json = "{}";
};

/// A webhook of an organization (or of one of its apps).
struct webhook_record {
  std::string id;
  std::string org_id;
  /// Only the app's events are sent when set.
  std::optional<std::string> app_id;
  std::string url;
  /// The event types, as a JSON array.
  std::string events_json = "[]";
  std::optional<std::string> description;
  /// The `whsec_` secret sealed with the master key (seal_secret).
  std::string secret_encrypted;
  std::string created_at;
};

/// One event on its way to one webhook: a row of the delivery queue.
struct webhook_delivery {
  std::string webhook_id;
  std::string org_id;
  std::string event_id;
  std::string type;
  /// The body sent, JSON.
  std::string payload;
  /// Attempts made so far.
  int attempt = 0;
  /// `pending`, `delivered` or `failed` (given up after 24 hours).
  std::string state = "pending";
  /// Unix ms of the next attempt, and of the first.
  std::int64_t next_attempt_ms = 0;
  std::int64_t created_ms = 0;
  /// The webhook's URL and sealed secret, read with a claimed row.
  std::string url;
  std::string secret_encrypted;
};

/// One attempt to deliver an event, for the webhook's delivery log.
struct webhook_attempt {
  std::string id;
  std::string webhook_id;
  std::string event_id;
  std::string type;
  int attempt = 1;
  /// The receiver's HTTP status; nullopt when it did not answer.
  std::optional<int> status_code;
  std::optional<std::string> error;
  std::string at;
};

} // namespace gatehouse::storage
