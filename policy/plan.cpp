#include "policy/plan.hpp"

#include <array>
#include <utility>

namespace gatehouse::policy {

namespace {

struct feature_row {
  feature f;
  std::string_view name;
  bool on_free;
};

constexpr std::array<feature_row, 24> feature_table{{
  {feature::proxy, "proxy", true},
  {feature::streaming, "streaming", true},
  {feature::logging, "logging", true},
  {feature::prompts, "prompts", true},
  {feature::evals, "evals", true},
  {feature::datasets, "datasets", true},
  {feature::playground, "playground", true},
  {feature::sessions, "sessions", true},
  {feature::usage_analytics, "usage_analytics", true},
  {feature::provider_auto_detection, "provider_auto_detection", true},
  {feature::provider_fallback, "provider_fallback", false},
  {feature::format_translation, "format_translation", false},
  {feature::pii_redaction, "pii_redaction", false},
  {feature::guardrails, "guardrails", false},
  {feature::caching, "caching", false},
  {feature::webhooks, "webhooks", false},
  {feature::audit_log, "audit_log", false},
  {feature::budget_controls, "budget_controls", false},
  {feature::cost_tracking, "cost_tracking", false},
  {feature::prometheus_metrics, "prometheus_metrics", false},
  {feature::per_key_rate_limits, "per_key_rate_limits", false},
  {feature::byos, "byos", false},
  {feature::priority_support, "priority_support", false},
  {feature::custom_sla, "custom_sla", false},
}};

// The table is indexed by the enum value.
constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < feature_table.size(); ++i)
    if (static_cast<std::size_t>(feature_table[i].f) != i)
      return false;
  return true;
}
static_assert(table_in_enum_order(), "feature_table out of enum order");
static_assert(static_cast<std::size_t>(feature::custom_sla) + 1
                == feature_table.size(),
              "feature_table misses a feature");

const feature_row& row_of(feature f) {
  return feature_table[static_cast<std::size_t>(f)];
}

constexpr int free_max_providers = 3;
constexpr int free_max_api_keys = 5;
constexpr int free_retention_days = 7;
constexpr int enterprise_max_api_keys = 100;

} // namespace

std::optional<plan> parse_plan(std::string_view text) {
  if (text == "free")
    return plan::free;
  if (text == "enterprise")
    return plan::enterprise;
  return std::nullopt;
}

std::string_view to_string(plan p) {
  return p == plan::enterprise ? "enterprise" : "free";
}

const std::vector<feature>& all_features() {
  static const std::vector<feature> features = [] {
    std::vector<feature> out;
    out.reserve(feature_table.size());
    for (const auto& row : feature_table)
      out.push_back(row.f);
    return out;
  }();
  return features;
}

std::string_view to_string(feature f) {
  return row_of(f).name;
}

std::optional<feature> parse_feature(std::string_view text) {
  for (const auto& row : feature_table)
    if (row.name == text)
      return row.f;
  return std::nullopt;
}

bool has_feature(plan p, feature f) {
  if (p == plan::enterprise)
    return true;
  return row_of(f).on_free;
}

plan_limits limits_for(plan p, std::optional<int> org_retention_days,
                       bool retention_set) {
  if (p == plan::enterprise)
    return plan_limits{
      std::nullopt, enterprise_max_api_keys,
      retention_set ? org_retention_days
                    : std::optional<int>{default_enterprise_retention_days}};
  return plan_limits{free_max_providers, free_max_api_keys,
                     free_retention_days};
}

} // namespace gatehouse::policy
