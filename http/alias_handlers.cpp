// Model aliases of the caller's organization.

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "policy/aliases.hpp"

namespace gatehouse::http {

std::string stored_aliases(const nlohmann::json& value,
                           std::string_view field) {
  auto table = unwrap(policy::parse_aliases(value, field));
  return table.empty() ? "{}" : policy::to_json(table).dump();
}

http_response handle_aliases_get(request_context& ctx) {
  return json_response(
    200, {{"aliases", actors::aliases_view(ctx.org->aliases_json)}});
}

http_response handle_aliases_put(request_context& ctx) {
  json_fields f{ctx.body, {"aliases"}};
  if (!f.has("aliases"))
    f.fail("aliases", "is required");
  actors::org_update change;
  change.aliases_json = stored_aliases(f.get("aliases"), "aliases");
  auto org = unwrap(ctx.svc.gw.update_org(ctx.org->id, change, ctx.who()));
  return json_response(
    200, {{"aliases", actors::aliases_view(org.aliases_json)}});
}

} // namespace gatehouse::http
