#include "policy/plan.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace gatehouse::policy;

namespace {

// The free-plan entitlements object of API.md (key order included).
const char* free_entitlements = R"({
  "proxy": true, "streaming": true, "logging": true, "prompts": true,
  "evals": true, "datasets": true, "playground": true, "sessions": true,
  "usage_analytics": true, "provider_auto_detection": true,
  "provider_fallback": false, "format_translation": false,
  "pii_redaction": false, "guardrails": false, "caching": false,
  "webhooks": false, "audit_log": false, "budget_controls": false,
  "cost_tracking": false, "prometheus_metrics": false,
  "per_key_rate_limits": false, "byos": false, "priority_support": false,
  "custom_sla": false})";

nlohmann::ordered_json entitlements_of(plan p) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (auto f : all_features())
    out[std::string{to_string(f)}] = has_feature(p, f);
  return out;
}

} // namespace

TEST(plan, parse_and_print) {
  EXPECT_EQ(parse_plan("free"), plan::free);
  EXPECT_EQ(parse_plan("enterprise"), plan::enterprise);
  EXPECT_FALSE(parse_plan(""));
  EXPECT_FALSE(parse_plan("Free"));
  EXPECT_FALSE(parse_plan("pro"));
  EXPECT_EQ(to_string(plan::free), "free");
  EXPECT_EQ(to_string(plan::enterprise), "enterprise");
}

TEST(plan, free_entitlements_match_api_exactly_in_order) {
  auto expected = nlohmann::ordered_json::parse(free_entitlements);
  auto actual = entitlements_of(plan::free);
  EXPECT_EQ(actual.dump(), expected.dump());
}

TEST(plan, enterprise_has_everything) {
  auto actual = entitlements_of(plan::enterprise);
  EXPECT_EQ(actual.size(), 24u);
  for (auto& [key, value] : actual.items())
    EXPECT_TRUE(value.get<bool>()) << key;
}

TEST(plan, feature_names_round_trip) {
  EXPECT_EQ(all_features().size(), 24u);
  for (auto f : all_features())
    EXPECT_EQ(parse_feature(to_string(f)), f);
  EXPECT_FALSE(parse_feature("teleportation"));
  EXPECT_FALSE(parse_feature(""));
  EXPECT_FALSE(parse_feature("Proxy"));
  EXPECT_EQ(all_features().front(), feature::proxy);
  EXPECT_EQ(all_features().back(), feature::custom_sla);
}

TEST(plan, free_limits) {
  auto l = limits_for(plan::free, std::nullopt, false);
  EXPECT_EQ(l.max_providers, 3);
  EXPECT_EQ(l.max_api_keys, 5);
  EXPECT_EQ(l.log_retention_days, 7);
  // The org's retention setting does not apply to free orgs.
  auto l2 = limits_for(plan::free, 365, true);
  EXPECT_EQ(l2.log_retention_days, 7);
  EXPECT_EQ(limits_for(plan::free, std::nullopt, true).log_retention_days, 7);
}

TEST(plan, enterprise_limits) {
  auto l = limits_for(plan::enterprise, std::nullopt, false);
  EXPECT_FALSE(l.max_providers.has_value());
  EXPECT_EQ(l.max_api_keys, 100);
  EXPECT_EQ(l.log_retention_days, 90);
  EXPECT_EQ(limits_for(plan::enterprise, 30, true).log_retention_days, 30);
  // Set to null: keep forever.
  EXPECT_FALSE(
    limits_for(plan::enterprise, std::nullopt, true).log_retention_days);
  // A value that is not marked as set is ignored.
  EXPECT_EQ(limits_for(plan::enterprise, 30, false).log_retention_days, 90);
}
