// Guardrail rules of the caller's organization, and the checks that the
// org's, apps' and keys' rules pass when written.

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/guardrail_fields.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "policy/plan.hpp"

namespace gatehouse::http {

using nlohmann::json;
using policy::errc;

std::string stored_guardrails(const request_context& ctx, const json& value,
                              std::string_view field,
                              const policy::guardrail_rules& upper) {
  auto rules = unwrap(policy::parse_guardrail_rules(value, field));
  auto plan = policy::parse_plan(ctx.org->plan).value_or(policy::plan::free);
  if (!policy::has_feature(plan, policy::feature::pii_redaction))
    for (std::size_t i = 0; i < rules.size(); ++i)
      if (policy::is_pii_detector(rules[i].detector))
        throw api_error(errc::plan_required,
                        "field '" + std::string{field} + "[" + std::to_string(i)
                          + "].detector': '"
                          + std::string{policy::to_string(rules[i].detector)}
                          + "' needs the pii_redaction feature");
  if (auto p = policy::loosening_problem(upper, rules, field))
    throw api_error(std::move(*p));
  return rules.empty() ? "[]" : policy::to_json(rules).dump();
}

policy::guardrail_rules read_guardrails(const std::string& rules_json) {
  if (rules_json.empty() || rules_json == "[]")
    return {};
  auto rules = policy::parse_guardrail_rules(
    json::parse(rules_json, nullptr, false), "guardrails");
  return rules ? std::move(rules).value() : policy::guardrail_rules{};
}

http_response handle_guardrails_get(request_context& ctx) {
  return json_response(
    200, {{"rules", actors::guardrails_view(ctx.org->guardrails_json)}});
}

http_response handle_guardrails_put(request_context& ctx) {
  json_fields f{ctx.body, {"rules"}};
  if (!f.has("rules"))
    f.fail("rules", "is required");
  actors::org_update change;
  change.guardrails_json = stored_guardrails(ctx, f.get("rules"), "rules");
  auto org = unwrap(ctx.svc.gw.update_org(ctx.org->id, change, ctx.who()));
  return json_response(
    200, {{"rules", actors::guardrails_view(org.guardrails_json)}});
}

} // namespace gatehouse::http
