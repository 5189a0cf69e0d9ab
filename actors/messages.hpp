#pragma once

// Plain value types exchanged with the actors. No CAF here: the HTTP layer
// includes this header through gateway.hpp.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/aliases.hpp"
#include "policy/errc.hpp"
#include "storage/records.hpp"

namespace gatehouse::policy {
class compiled_guardrails;
} // namespace gatehouse::policy

namespace gatehouse::actors {

struct team_ledger;

/// Who changes state, from where and when; recorded in the audit log.
struct audit_ctx {
  std::string actor_type; ///< "user", "operator" or "key"
  std::string actor_id;
  std::string ip;
  long long now_s = 0;
  long long now_ms = 0; ///< the same instant; audit entries keep milliseconds
};

/// The org actor's answer to "is this API key usable now?".
struct key_verdict {
  bool valid = false;
  policy::errc code = policy::errc::unauthorized;
  std::string reason;
  std::string org_id;
  std::string key_id;
  std::vector<std::string> scopes;
  std::optional<std::string> app_id;
  std::optional<std::string> team_id;
  std::optional<int> rate_limit_rpm;
};

/// A partial change of an organization's editable fields.
struct org_update {
  std::optional<std::string> name;
  std::optional<std::string> settings_json; ///< the complete new settings
  /// The org's complete new guardrail rules (a JSON array).
  std::optional<std::string> guardrails_json;
  /// The org's complete new model aliases (a JSON object).
  std::optional<std::string> aliases_json;
};

/// Answer of the authentication-endpoint limiter.
struct limit_decision {
  bool allowed = true;
  long long retry_after_s = 0;
};

/// The AES-GCM associated data binding a sealed provider key to its
/// provider, so a sealed key cannot be moved to another row.
inline std::string provider_key_aad(const std::string& provider_id) {
  return "provider:" + provider_id;
}

/// What the proxy knows about a request before it is authorized.
struct proxy_request {
  std::string key_hash;
  std::string path; ///< e.g. "/v1/chat/completions"
  std::optional<std::string> provider_header;
  std::string model;
  bool stream = false;
  bool client_wants_usage = false;
  long long prompt_chars = 0;
  std::optional<long long> max_tokens;
  /// `X-Gatehouse-Cache`: 0 absent, 1 `on`, 2 `off`.
  int cache = 0;
  /// `X-Gatehouse-Cache-TTL` in seconds; 0 when absent.
  int cache_ttl_s = 0;
  /// The response cache had no answer: authorize again, reserving the
  /// budget this time and without counting the rate limit twice.
  bool cache_missed = false;
  long long now_s = 0;
  long long now_ms = 0;
};

/// Where and how to send a request to one provider.
struct upstream_target {
  std::string provider;
  std::string scheme; ///< "http" or "https"
  std::string host;
  unsigned short port = 0;
  std::string base_path; ///< without trailing '/'
  bool passthrough = false;
  std::string auth_header; ///< e.g. "Authorization"
  std::string auth_value;  ///< e.g. "Bearer sk-…"; empty in passthrough
  /// Speaks the Anthropic messages API (else OpenAI chat completions).
  bool anthropic = false;
};

/// The org actor's permission to proxy one request.
struct grant {
  std::string org_id;
  std::string key_id;
  std::string key_prefix;
  std::optional<std::string> app_id;
  std::optional<std::string> team_id;
  std::optional<std::string> user_id;
  /// The chosen provider first, then its fallback chain.
  std::vector<upstream_target> targets;
  std::vector<std::string> scopes;
  std::string model; ///< as sent upstream
  bool rewrite_model = false;
  /// The client's model when an alias replaced it by `model`.
  std::optional<std::string> requested_model;
  /// The request or its app asked about the response cache: the answer
  /// says `X-Gatehouse-Cache`.
  bool cache_asked = false;
  /// How long the answer may be cached, in seconds; 0: not cached. While
  /// positive on a first authorization, no budget is reserved yet.
  int cache_ttl_s = 0;
  /// OpenAI-format stream whose client did not ask for usage: ask for it
  /// and drop the usage-only chunk from the relay.
  bool inject_usage = false;
  bool log_bodies = false;
  std::optional<std::string> env; ///< the app's environment tag
  /// Budget reserved for this request in `ledger`, replaced by the actual
  /// cost when it settles.
  std::int64_t reserved_micros = 0;
  std::shared_ptr<team_ledger> ledger;
  /// The effective guardrail rules of the key (org, app and key), compiled
  /// by the org actor; null when none apply.
  std::shared_ptr<const policy::compiled_guardrails> guardrails;
};

/// Answer to a proxy_request: a grant or the reason for refusal.
struct authorization {
  bool ok = false;
  policy::problem denial{policy::errc::unauthorized, "", std::nullopt};
  grant permit;
  /// The refusal is the team budget's and the org actor may still lift it
  /// (a lease to ask for in a cluster): hand the request to the actor.
  /// `permit.team_id` and `permit.reserved_micros` then name the team and
  /// the estimate.
  bool deferred = false;
};

/// What a stream relay saw when its stream ended.
struct stream_summary {
  long long input_tokens = 0;
  long long output_tokens = 0;
  bool usage_present = false;
  /// Characters of generated text, counted only while no usage was
  /// reported (they serve to estimate tokens when none is).
  long long text_chars = 0;
};

/// A finished proxied exchange, reported to its org actor, which prices it,
/// counts it and forwards it to storage.
struct settlement {
  storage::request_log_record log;
  std::int64_t reserved_micros = 0;   ///< from the grant
  std::shared_ptr<team_ledger> ledger; ///< from the grant
};

/// A team's live month-to-date figures, as the org actor counts them.
struct team_usage {
  std::string team_id;
  std::int64_t spent_micros = 0;
  std::int64_t requests = 0;
  std::int64_t in_flight_micros = 0;
};

/// An app's state as the data plane needs it.
struct app_state {
  bool is_active = true;
  std::string env = "dev";
  /// The app's model aliases; null when it has none.
  std::shared_ptr<const policy::alias_table> aliases;
  /// Seconds its answers are cached by default; 0: the app's cache is off.
  int cache_ttl_s = 0;
};

// -- budget leases between the members of a cluster (actors/org_lease.cpp)

/// A member asks an org's home for budget of one team, or (`rate`) for
/// requests of one key under its rate limit.
struct lease_ask {
  std::string org_id;
  std::string team_id; ///< the team, or the key when `rate`
  std::string month;   ///< "YYYY-MM" of the member's ledger
  std::string node_id; ///< the asking member
  std::int64_t need = 0; ///< what the waiting request needs at least
  std::int64_t want = 0; ///< the slice it hopes for
  std::uint64_t seq = 0; ///< echoed in the answer
  bool rate = false;     ///< requests of a key, not budget of a team
};

/// The home's answer to a lease_ask.
struct lease_grant {
  std::string team_id;
  std::string month;
  std::string node_id; ///< the granting home
  std::int64_t amount = 0; ///< 0: what remains cannot cover the need
  std::uint64_t seq = 0;
  /// The asked node is not the org's home (the members' views differ for a
  /// moment): ask again.
  bool not_home = false;
  /// An answer to a rate ask: `amount` requests of the key passed its rate
  /// limit at the home; the next would pass in `retry_after_ms`.
  bool rate = false;
  std::int64_t retry_after_ms = 0;
};

/// A member gives budget back to the home: when called back, when its org
/// actor stops (`closing`: nothing in flight, its spend is stored), or for
/// a grant that arrived too late.
struct lease_return {
  std::string team_id;
  std::string month;
  std::string node_id;
  std::int64_t amount = 0; ///< negative when the member overdrew its lease
  bool closing = false;
};

/// A member's answer when a new home collects the state of an org: per
/// team, the estimates of the requests it still has in flight. Its settled
/// spend is stored (it flushed first); its leases are gone.
struct lease_collected {
  std::string month;
  std::string node_id;
  std::vector<std::string> team_ids;
  std::vector<std::int64_t> in_flight;
};

} // namespace gatehouse::actors
