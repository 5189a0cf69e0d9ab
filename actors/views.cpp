#include "actors/views.hpp"

#include <nlohmann/json.hpp>

#include "policy/plan.hpp"
#include "policy/time.hpp"
#include "policy/translate.hpp"

namespace gatehouse::actors {

using nlohmann::json;

namespace {

json opt(const std::optional<std::string>& x) {
  return x ? json(*x) : json(nullptr);
}

json parse_settings(const std::string& text) {
  auto j = json::parse(text.empty() ? "{}" : text, nullptr, false);
  return j.is_object() ? j : json::object();
}

} // namespace

json org_brief(const storage::org_record& org) {
  return {{"id", org.id}, {"slug", org.slug}, {"name", org.name},
          {"plan", org.plan}};
}

json effective_settings(const storage::org_record& org) {
  auto stored = parse_settings(org.settings_json);
  auto p = policy::parse_plan(org.plan).value_or(policy::plan::free);
  bool set = stored.contains("log_retention_days");
  std::optional<int> days;
  if (set && stored["log_retention_days"].is_number_integer())
    days = stored["log_retention_days"].get<int>();
  auto lim = policy::limits_for(p, days, set);
  json out = json::object();
  out["log_bodies"] = stored.value("log_bodies", false);
  out["log_retention_days"] = lim.log_retention_days
                                ? json(*lim.log_retention_days)
                                : json(nullptr);
  return out;
}

json org_full(const storage::org_record& org) {
  auto out = org_brief(org);
  out["created_at"] = org.created_at;
  out["settings"] = effective_settings(org);
  return out;
}

json user_brief(const storage::user_record& user) {
  return {{"id", user.id}, {"email", user.email},
          {"display_name", user.display_name}};
}

json provider_view(const storage::provider_record& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"base_url", p.base_url},
          {"auth_mode", p.auth_mode},
          {"auth_header", p.auth_header},
          {"auth_scheme", p.auth_scheme},
          {"has_api_key", p.api_key_encrypted.has_value()},
          {"api_key_last4", opt(p.api_key_last4)},
          {"fallback", p.fallback},
          {"is_default", p.is_default},
          {"created_at", p.created_at},
          {"updated_at", p.updated_at},
          {"format", p.format ? *p.format
                              : std::string{policy::to_string(
                                  policy::default_provider_format(
                                    p.name, p.base_url))}}};
}

json guardrails_view(const std::string& rules_json) {
  if (rules_json.empty() || rules_json == "[]")
    return json::array();
  auto j = json::parse(rules_json, nullptr, false);
  return j.is_array() ? j : json::array();
}

json aliases_view(const std::string& aliases_json) {
  if (aliases_json.empty() || aliases_json == "{}")
    return json::object();
  auto j = json::parse(aliases_json, nullptr, false);
  return j.is_object() ? j : json::object();
}

json cache_view(const std::string& cache_json) {
  json out = {{"enabled", false}, {"ttl_seconds", 300}};
  auto j = json::parse(cache_json, nullptr, false);
  if (j.is_object()) {
    if (j.contains("enabled") && j["enabled"].is_boolean())
      out["enabled"] = j["enabled"];
    if (j.contains("ttl_seconds") && j["ttl_seconds"].is_number_integer())
      out["ttl_seconds"] = j["ttl_seconds"];
  }
  return out;
}

json key_view(const storage::api_key_record& key, long long now_s) {
  std::string status = key.status;
  if (status == "active" && key.expires_at) {
    auto exp = policy::parse_rfc3339(*key.expires_at);
    if (exp && now_s >= *exp)
      status = "expired";
  }
  json out = {{"id", key.id},
              {"name", key.name},
              {"key_prefix", key.key_prefix},
              {"scopes", key.scopes},
              {"app_id", opt(key.app_id)},
              {"team_id", opt(key.team_id)},
              {"user_id", key.user_id},
              {"status", status},
              {"created_at", key.created_at},
              {"last_used_at", opt(key.last_used_at)},
              {"expires_at", opt(key.expires_at)},
              {"request_count", key.request_count}};
  out["rate_limit_rpm"] = key.rate_limit_rpm ? json(*key.rate_limit_rpm)
                                             : json(nullptr);
  out["guardrails"] = guardrails_view(key.guardrails_json);
  return out;
}

} // namespace gatehouse::actors
