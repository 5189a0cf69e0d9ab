#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace gatehouse::policy {

/// An organization's subscription plan.
enum class plan { free, enterprise };

/// Parses "free" or "enterprise".
std::optional<plan> parse_plan(std::string_view text);

/// Returns the wire name of `p`.
std::string_view to_string(plan p);

/// Plan-gated capabilities, in the order of the entitlements answer.
enum class feature {
  proxy,
  streaming,
  logging,
  prompts,
  evals,
  datasets,
  playground,
  sessions,
  usage_analytics,
  provider_auto_detection,
  provider_fallback,
  format_translation,
  pii_redaction,
  guardrails,
  caching,
  webhooks,
  audit_log,
  budget_controls,
  cost_tracking,
  prometheus_metrics,
  per_key_rate_limits,
  byos,
  priority_support,
  custom_sla,
};

/// Every feature, in the order of the entitlements answer.
const std::vector<feature>& all_features();

/// Returns the wire name of `f` (the entitlements key).
std::string_view to_string(feature f);

/// Parses a feature's wire name.
std::optional<feature> parse_feature(std::string_view text);

/// True if plan `p` includes feature `f`.
bool has_feature(plan p, feature f);

/// Quantitative limits of a plan.
struct plan_limits {
  /// Maximum number of providers; nullopt = unlimited.
  std::optional<int> max_providers;
  /// Maximum number of active API keys.
  int max_api_keys;
  /// Days request logs are kept; nullopt = forever.
  std::optional<int> log_retention_days;
};

/// Default log retention of enterprise orgs that set none, in days.
inline constexpr int default_enterprise_retention_days = 90;

/// Returns the limits of plan `p`. For enterprise orgs the retention is the
/// org's own setting when `retention_set` (nullopt then means forever), else
/// 90 days; free orgs always keep 7 days.
plan_limits limits_for(plan p, std::optional<int> org_retention_days,
                       bool retention_set);

} // namespace gatehouse::policy
