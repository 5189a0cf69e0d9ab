// The caller's organization.

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "policy/validate.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;

constexpr long long max_retention_days = 3650;

/// The stored settings with the request's `settings` merged in.
std::string merged_settings(const storage::org_record& org,
                            const json_fields& body) {
  json_fields s{body.get("settings"), {"log_bodies", "log_retention_days"},
                "settings."};
  auto stored = json::parse(org.settings_json.empty() ? "{}"
                                                      : org.settings_json,
                            nullptr, false);
  if (!stored.is_object())
    stored = json::object();
  if (auto b = s.optional_bool("log_bodies"))
    stored["log_bodies"] = *b;
  else if (s.is_null("log_bodies"))
    s.fail("log_bodies", "must be a boolean");
  if (s.has("log_retention_days")) {
    auto days = s.optional_int("log_retention_days", 1, max_retention_days);
    stored["log_retention_days"] = days ? json(*days) : json(nullptr);
  }
  return stored.dump();
}

} // namespace

http_response handle_org_get(request_context& ctx) {
  return json_response(200, actors::org_full(*ctx.org));
}

http_response handle_org_put(request_context& ctx) {
  reject_immutable(ctx.body, {"id", "slug"});
  json_fields f{ctx.body, {"name", "settings"}};
  actors::org_update change;
  if (f.has("name")) {
    auto name = f.required_string("name");
    if (auto err = policy::validate_display_name(name))
      f.fail("name", *err);
    change.name = name;
  }
  if (f.has("settings"))
    change.settings_json = merged_settings(*ctx.org, f);
  if (!change.name && !change.settings_json)
    return json_response(200, actors::org_full(*ctx.org));
  auto org = unwrap(ctx.svc.gw.update_org(ctx.org->id, change, ctx.who()));
  return json_response(200, actors::org_full(org));
}

} // namespace gatehouse::http
