// Operator routes.

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "policy/plan.hpp"
#include "policy/validate.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

using nlohmann::json;

http_response handle_admin_orgs(request_context& ctx) {
  json orgs = json::array();
  for (auto& org : ctx.db().list_orgs()) {
    auto item = actors::org_brief(org);
    item["created_at"] = org.created_at;
    orgs.push_back(std::move(item));
  }
  return json_response(200, {{"orgs", orgs}});
}

http_response handle_admin_set_plan(request_context& ctx) {
  json_fields f{ctx.body, {"plan"}};
  auto plan = f.required_string("plan");
  if (!policy::parse_plan(plan))
    f.fail("plan", "must be 'free' or 'enterprise'");
  auto& id = ctx.param("id");
  if (!policy::is_uuid(id))
    throw api_error(policy::errc::not_found,
                    "no organization with id '" + id + "'");
  auto org = unwrap(ctx.svc.gw.set_plan(id, plan, ctx.who()));
  return json_response(200, actors::org_full(org));
}

} // namespace gatehouse::http
