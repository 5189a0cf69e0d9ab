// Operator routes.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "policy/plan.hpp"
#include "policy/rendezvous.hpp"
#include "policy/validate.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

using nlohmann::json;

namespace {

/// The nodes orgs may have as home now: this node and the peers up; this
/// node alone when none is (it still answers for every org).
std::vector<std::string> home_candidates(const actors::cluster_view& view) {
  auto ids = view.home_candidates();
  if (ids.empty())
    ids.push_back(view.self_id());
  return ids;
}

} // namespace

http_response handle_admin_orgs(request_context& ctx) {
  auto nodes = home_candidates(ctx.svc.gw.cluster());
  json orgs = json::array();
  for (auto& org : ctx.db().list_orgs()) {
    auto item = actors::org_brief(org);
    item["created_at"] = org.created_at;
    item["home_node"] = policy::home_node(nodes, org.id);
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

http_response handle_admin_cluster(request_context& ctx) {
  const auto& view = ctx.svc.gw.cluster();
  auto members = view.members();
  auto nodes = home_candidates(view);
  std::map<std::string, long long> homes;
  for (const auto& org : ctx.db().list_orgs())
    ++homes[policy::home_node(nodes, org.id)];
  json list = json::array();
  for (const auto& m : members)
    list.push_back(
      {{"node_id", m.node_id},
       {"address", m.address.empty() ? json(nullptr) : json(m.address)},
       {"state", actors::to_string(m.state)},
       {"home_orgs", homes[m.node_id]}});
  return json_response(200, {{"node_id", view.self_id()}, {"members", list}});
}

} // namespace gatehouse::http
