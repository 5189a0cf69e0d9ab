#include "http/routes.hpp"

#include <algorithm>
#include <set>

#include "http/handlers.hpp"

namespace gatehouse::http {

namespace {

using policy::feature;
using policy::role;
constexpr auto none = credential::none;
constexpr auto session = credential::session;
constexpr auto op = credential::operator_token;

std::vector<route> make_table() {
  // method, pattern, credential, permission, minimum role, plan feature,
  // option gates, auth-limited, inline, handler
  return {
    {"GET", "/healthz", none, "", role::viewer, {}, {}, false, true,
     handle_healthz},
    {"GET", "/readyz", none, "", role::viewer, {}, {}, false, false,
     handle_readyz},
    {"POST", "/api/v1/signup", none, "", role::viewer, {}, {}, true, false,
     handle_signup},
    {"POST", "/api/v1/login", none, "", role::viewer, {}, {}, true, false,
     handle_login},
    {"GET", "/api/v1/auth/me", session, "", role::viewer, {}, {}, false,
     false, handle_me},
    {"GET", "/api/v1/auth/entitlements", session, "", role::viewer, {}, {},
     false, false, handle_entitlements},
    {"GET", "/api/v1/auth/orgs", session, "", role::viewer, {}, {}, false,
     false, handle_my_orgs},
    {"POST", "/api/v1/auth/switch-org", session, "", role::viewer, {}, {},
     false, false, handle_switch_org},
    {"GET", "/api/v1/org", session, "org:read", role::admin, {}, {}, false,
     false, handle_org_get},
    {"PUT", "/api/v1/org", session, "org:write", role::admin, {},
     {{"/settings/log_retention_days", std::nullopt}}, false, false,
     handle_org_put},
    {"GET", "/api/v1/keys", session, "keys:read", role::viewer, {}, {}, false,
     false, handle_keys_list},
    {"POST", "/api/v1/keys", session, "keys:write", role::member, {},
     {{"/rate_limit_rpm", feature::per_key_rate_limits},
      {"/guardrails", feature::guardrails}},
     false, false, handle_keys_create},
    {"DELETE", "/api/v1/keys/{id}", session, "keys:write", role::member, {},
     {}, false, false, handle_keys_revoke},
    {"POST", "/api/v1/keys/{id}/rotate", session, "keys:write", role::member,
     {}, {}, false, false, handle_keys_rotate},
    {"PUT", "/api/v1/providers/default", session, "providers:write",
     role::admin, {}, {}, false, false, handle_providers_default},
    {"POST", "/api/v1/providers", session, "providers:write", role::admin, {},
     {{"/fallback", feature::provider_fallback}}, false, false,
     handle_providers_create},
    {"GET", "/api/v1/providers", session, "providers:read", role::viewer, {},
     {}, false, false, handle_providers_list},
    {"GET", "/api/v1/providers/{name}", session, "providers:read",
     role::viewer, {}, {}, false, false, handle_providers_get},
    {"PUT", "/api/v1/providers/{name}", session, "providers:write",
     role::admin, {}, {{"/fallback", feature::provider_fallback}}, false,
     false, handle_providers_update},
    {"DELETE", "/api/v1/providers/{name}", session, "providers:write",
     role::admin, {}, {}, false, false, handle_providers_delete},
    {"GET", "/api/v1/pricing", session, "pricing:read", role::viewer, {}, {},
     false, false, handle_pricing_get},
    {"PUT", "/api/v1/pricing", session, "pricing:write", role::admin,
     feature::cost_tracking, {}, false, false, handle_pricing_put},
    {"GET", "/api/v1/logs", session, "logs:read", role::viewer,
     feature::logging, {}, false, false, handle_logs},
    {"GET", "/api/v1/usage", session, "usage:read", role::viewer,
     feature::usage_analytics, {}, false, false, handle_usage},
    {"GET", "/api/v1/users", session, "users:read", role::viewer, {}, {},
     false, false, handle_users_list},
    {"POST", "/api/v1/users/invite", session, "users:write", role::admin, {},
     {}, false, false, handle_users_invite},
    {"POST", "/api/v1/invites/accept", none, "", role::viewer, {}, {}, true,
     false, handle_invite_accept},
    {"PUT", "/api/v1/users/{id}", session, "users:write", role::admin, {}, {},
     false, false, handle_users_update},
    {"POST", "/api/v1/users/{id}/suspend", session, "users:write", role::admin,
     {}, {}, false, false, handle_users_suspend},
    {"POST", "/api/v1/users/{id}/reactivate", session, "users:write",
     role::admin, {}, {}, false, false, handle_users_reactivate},
    {"POST", "/api/v1/users/{id}/resend-invite", session, "users:write",
     role::admin, {}, {}, false, false, handle_users_resend},
    {"DELETE", "/api/v1/users/{id}", session, "users:write", role::admin, {},
     {}, false, false, handle_users_delete},
    {"POST", "/api/v1/teams", session, "teams:write", role::admin, {},
     {{"/monthly_spend_limit_usd", feature::budget_controls}}, false, false,
     handle_teams_create},
    {"GET", "/api/v1/teams", session, "teams:read", role::viewer, {}, {},
     false, false, handle_teams_list},
    {"GET", "/api/v1/teams/{id}", session, "teams:read", role::viewer, {}, {},
     false, false, handle_teams_get},
    {"PUT", "/api/v1/teams/{id}", session, "teams:write", role::admin, {},
     {{"/monthly_spend_limit_usd", feature::budget_controls}}, false, false,
     handle_teams_update},
    {"DELETE", "/api/v1/teams/{id}", session, "teams:write", role::admin, {},
     {}, false, false, handle_teams_delete},
    {"POST", "/api/v1/apps", session, "apps:write", role::admin, {},
     {{"/guardrails", feature::guardrails},
      {"/cache/enabled", feature::caching}},
     false, false, handle_apps_create},
    {"GET", "/api/v1/apps", session, "apps:read", role::viewer, {}, {}, false,
     false, handle_apps_list},
    {"GET", "/api/v1/apps/{id}", session, "apps:read", role::viewer, {}, {},
     false, false, handle_apps_get},
    {"GET", "/api/v1/apps/{id}/info", session, "apps:read", role::viewer, {},
     {}, false, false, handle_apps_info},
    {"PUT", "/api/v1/apps/{id}", session, "apps:write", role::admin, {},
     {{"/guardrails", feature::guardrails},
      {"/cache/enabled", feature::caching}},
     false, false, handle_apps_update},
    {"DELETE", "/api/v1/apps/{id}", session, "apps:write", role::admin, {},
     {}, false, false, handle_apps_delete},
    {"GET", "/api/v1/aliases", session, "aliases:read", role::viewer, {},
     {}, false, false, handle_aliases_get},
    {"PUT", "/api/v1/aliases", session, "aliases:write", role::admin, {}, {},
     false, false, handle_aliases_put},
    {"DELETE", "/api/v1/cache", session, "cache:write", role::admin,
     feature::caching, {}, false, false, handle_cache_delete},
    {"GET", "/api/v1/guardrails", session, "guardrails:read", role::viewer,
     feature::guardrails, {}, false, false, handle_guardrails_get},
    {"PUT", "/api/v1/guardrails", session, "guardrails:write", role::admin,
     feature::guardrails, {}, false, false, handle_guardrails_put},
    {"POST", "/api/v1/webhooks", session, "webhooks:write", role::admin,
     feature::webhooks, {}, false, false, handle_webhooks_create},
    {"GET", "/api/v1/webhooks", session, "webhooks:read", role::viewer,
     feature::webhooks, {}, false, false, handle_webhooks_list},
    {"DELETE", "/api/v1/webhooks/{id}", session, "webhooks:write",
     role::admin, feature::webhooks, {}, false, false,
     handle_webhooks_delete},
    {"GET", "/api/v1/webhooks/{id}/deliveries", session, "webhooks:read",
     role::viewer, feature::webhooks, {}, false, false,
     handle_webhooks_deliveries},
    {"POST", "/api/v1/webhooks/{id}/test", session, "webhooks:write",
     role::admin, feature::webhooks, {}, false, false, handle_webhooks_test},
    {"GET", "/api/v1/audit", session, "audit:read", role::admin,
     feature::audit_log, {}, false, false, handle_audit},
    {"GET", "/api/v1/metrics", session, "metrics:read", role::admin,
     feature::prometheus_metrics, {}, false, false, handle_org_metrics},
    {"GET", "/metrics", op, "", role::viewer, {}, {}, false, false,
     handle_node_metrics},
    {"GET", "/api/v1/admin/orgs", op, "", role::viewer, {}, {}, false, false,
     handle_admin_orgs},
    {"PUT", "/api/v1/admin/orgs/{id}/plan", op, "", role::viewer, {}, {},
     false, false, handle_admin_set_plan},
    {"GET", "/api/v1/admin/cluster", op, "", role::viewer, {}, {}, false,
     false, handle_admin_cluster},
  };
}

/// Matches `path` against `pattern`, filling `{name}` parameters.
bool match(std::string_view pattern, std::string_view path,
           std::map<std::string, std::string>& params) {
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/'
        || path[0] != '/')
      return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    auto pe = pattern.find('/');
    auto se = path.find('/');
    auto pseg = pattern.substr(0, pe);
    auto sseg = path.substr(0, se);
    if (pseg.size() > 2 && pseg.front() == '{' && pseg.back() == '}') {
      if (sseg.empty())
        return false;
      params[std::string{pseg.substr(1, pseg.size() - 2)}] = std::string{sseg};
    } else if (pseg != sseg) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view{}
                                           : pattern.substr(pe);
    path = se == std::string_view::npos ? std::string_view{} : path.substr(se);
  }
  return true;
}

} // namespace

const std::vector<route>& route_table() {
  static const std::vector<route> table = make_table();
  return table;
}

route_match match_route(std::string_view method, std::string_view path) {
  route_match out;
  for (auto& r : route_table()) {
    if (method != r.method)
      continue;
    out.params.clear();
    if (match(r.pattern, path, out.params)) {
      out.r = &r;
      return out;
    }
  }
  out.params.clear();
  return out;
}

std::vector<std::string> permissions_for(policy::role r) {
  std::set<std::string> names;
  for (auto& rt : route_table())
    if (*rt.permission != '\0' && policy::at_least(r, rt.min_role))
      names.insert(rt.permission);
  return {names.begin(), names.end()};
}

} // namespace gatehouse::http
