#pragma once

// Webhook rules: the event names, the Standard Webhooks signature, the
// retry schedule and the once-only events that settlements raise.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "policy/outcome.hpp"

namespace gatehouse::policy {

/// The event types a webhook may subscribe to, in API order.
const std::vector<std::string>& webhook_event_types();

/// Reads a webhook's `events` (a non-empty array of known event types,
/// each at most once); 400 `invalid_request` naming `field` otherwise.
outcome<std::vector<std::string>>
parse_webhook_events(const nlohmann::json& value, std::string_view field);

/// A new secret: `whsec_` and the base64 of 32 random bytes.
std::string new_webhook_secret();

/// The key bytes of a `whsec_` secret; nullopt when it is not one.
std::optional<std::string> webhook_secret_key(std::string_view secret);

/// The `webhook-signature` header value: `v1,` and the base64 of the
/// HMAC-SHA256 of "<id>.<timestamp>.<body>" keyed with `key` (the
/// secret's decoded bytes).
std::string webhook_signature(std::string_view key, std::string_view id,
                              std::int64_t timestamp, std::string_view body);

/// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);

/// Reverses base64_encode; nullopt for malformed text.
std::optional<std::string> base64_decode(std::string_view text);

/// A delivery's body: `{id, type, created_at, org_id, data}`, `data_json`
/// being a JSON object's text.
std::string webhook_body(const std::string& id, const std::string& type,
                         const std::string& created_at,
                         const std::string& org_id,
                         const std::string& data_json);

/// When attempt `attempt` (1 for the first) failed at `failed_ms`, the
/// time of the next one: `base_ms` after the first, doubling, at most an
/// hour apart; nullopt once that would be more than 24 hours after
/// `first_ms`, the delivery's first attempt.
std::optional<std::int64_t> webhook_next_attempt(int attempt,
                                                 std::int64_t first_ms,
                                                 std::int64_t failed_ms,
                                                 std::int64_t base_ms);

/// How long a delivery is retried, ms.
inline constexpr std::int64_t webhook_retry_window_ms = 24LL * 3600 * 1000;

/// The highest budget threshold (50, 80 or 100 % of `limit`) that `spent`
/// reached; 0 for none or without a positive limit.
int budget_threshold_reached(std::int64_t spent, std::int64_t limit);

/// The thresholds after `from` up to `to` (both 0, 50, 80 or 100), in
/// order: each is announced once.
std::vector<int> budget_thresholds_between(int from, int to);

/// Upstream errors of one provider within a sliding minute: `hit` answers
/// true once per burst, when the errors reach `threshold`, and not again
/// for `quiet_ms`.
class error_burst {
public:
  static constexpr int threshold = 5;
  static constexpr std::int64_t window_ms = 60 * 1000;
  static constexpr std::int64_t quiet_ms = 15 * 60 * 1000;

  /// Counts an error at `now_ms`; true when it completes a burst.
  bool hit(std::int64_t now_ms);

private:
  std::vector<std::int64_t> times_;
  std::int64_t quiet_until_ = 0;
};

/// True for a settled request the provider failed: an answer of status
/// 5xx or none (a timeout, an unreachable provider).
bool is_provider_error(int status, const std::optional<std::string>& code);

} // namespace gatehouse::policy
