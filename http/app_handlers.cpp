// Apps (projects): the unit that owns keys and usage analytics.

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/guardrail_fields.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "policy/ids.hpp"
#include "policy/time.hpp"
#include "policy/validate.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;
using policy::errc;

constexpr std::size_t max_description = 1000;
constexpr std::string_view project_types[] = {"ai_gateway", "ai_wrapper",
                                              "api_gateway", "mcp_gateway"};
constexpr std::string_view envs[] = {"dev", "staging", "prod"};

template <class List>
bool one_of(const List& list, const std::string& v) {
  return std::find(std::begin(list), std::end(list), v) != std::end(list);
}

json app_view(const storage::app_record& a) {
  auto meta = json::parse(a.metadata_json, nullptr, false);
  return {{"id", a.id},
          {"name", a.name},
          {"slug", a.slug},
          {"description", a.description},
          {"project_type", a.project_type},
          {"env", a.env},
          {"is_active", a.is_active},
          {"metadata", meta.is_object() ? meta : json::object()},
          {"guardrails", actors::guardrails_view(a.guardrails_json)},
          {"aliases", actors::aliases_view(a.aliases_json)},
          {"cache", actors::cache_view(a.cache_json)},
          {"created_at", a.created_at}};
}

/// Longest time-to-live of a cached answer, in seconds (7 days).
constexpr long long max_cache_ttl = 7 * 24 * 3600;

/// The app's model aliases and response cache settings.
void apply_aliases_and_cache(const json_fields& f, storage::app_record& a) {
  if (f.has("aliases"))
    a.aliases_json = stored_aliases(f.get("aliases"), "aliases");
  if (!f.has("cache"))
    return;
  auto& v = f.get("cache");
  if (!v.is_object())
    f.fail("cache", "must be an object with 'enabled' and 'ttl_seconds'");
  json_fields c{v, {"enabled", "ttl_seconds"}, "cache."};
  auto stored = json::parse(a.cache_json, nullptr, false);
  if (!stored.is_object())
    stored = json::object();
  if (c.has("enabled")) {
    auto b = c.optional_bool("enabled");
    if (!b)
      c.fail("enabled", "must be a boolean");
    stored["enabled"] = *b;
  }
  if (c.has("ttl_seconds")) {
    auto ttl = c.optional_int("ttl_seconds", 1, max_cache_ttl);
    if (!ttl)
      c.fail("ttl_seconds", "must be an integer from 1 to 604800");
    stored["ttl_seconds"] = *ttl;
  }
  a.cache_json = stored.dump();
}

/// The app's own guardrail rules, which may add to the org's or tighten
/// them but not loosen them.
void apply_guardrails(request_context& ctx, const json_fields& f,
                      storage::app_record& a) {
  if (f.has("guardrails"))
    a.guardrails_json
      = stored_guardrails(ctx, f.get("guardrails"), "guardrails",
                          read_guardrails(ctx.org->guardrails_json));
}

storage::app_record find_app(request_context& ctx) {
  auto& id = ctx.param("id");
  std::optional<storage::app_record> app;
  if (policy::is_uuid(id))
    app = ctx.db().find_app(ctx.org->id, id);
  if (!app)
    throw api_error(errc::not_found, "no app with id '" + id + "'");
  return std::move(*app);
}

/// The editable fields; `project_type` only when creating.
void apply_fields(const json_fields& f, storage::app_record& a,
                  bool creating) {
  if (creating || f.has("name")) {
    a.name = f.required_string("name");
    if (auto err = policy::validate_display_name(a.name))
      f.fail("name", *err);
  }
  if (f.has("description")) {
    auto d = f.optional_string("description").value_or("");
    if (d.size() > max_description)
      f.fail("description", "must be at most 1000 characters");
    a.description = d;
  }
  if (creating && f.has("project_type")) {
    auto t = f.optional_string("project_type").value_or("");
    if (!one_of(project_types, t))
      f.fail("project_type", "must be ai_gateway, ai_wrapper, api_gateway "
                             "or mcp_gateway");
    a.project_type = t;
  }
  if (f.has("env")) {
    auto e = f.optional_string("env").value_or("");
    if (!one_of(envs, e))
      f.fail("env", "must be dev, staging or prod");
    a.env = e;
  }
  if (f.has("is_active")) {
    auto b = f.optional_bool("is_active");
    if (!b)
      f.fail("is_active", "must be a boolean");
    a.is_active = *b;
  }
  if (f.has("metadata")) {
    auto& m = f.get("metadata");
    if (!m.is_object())
      f.fail("metadata", "must be a JSON object");
    a.metadata_json = m.dump();
  }
}

} // namespace

http_response handle_apps_create(request_context& ctx) {
  json_fields f{ctx.body, {"name", "description", "project_type", "env",
                           "is_active", "metadata", "guardrails", "aliases",
                           "cache"}};
  storage::app_record a;
  a.id = policy::uuid_v4();
  a.org_id = ctx.org->id;
  apply_fields(f, a, true);
  apply_guardrails(ctx, f, a);
  apply_aliases_and_cache(f, a);
  // The slug comes from the name; clashes get -2, -3, ...
  auto base = policy::slugify(a.name);
  a.slug = base;
  for (int n = 2; ctx.db().slug_taken(ctx.org->id, a.slug); ++n)
    a.slug = policy::numbered_slug(base, n);
  a.created_at = policy::rfc3339(ctx.now_s);
  auto out = unwrap(ctx.svc.gw.put_app(ctx.org->id, a, true, ctx.who()));
  return json_response(201, app_view(out));
}

http_response handle_apps_list(request_context& ctx) {
  json apps = json::array();
  for (auto& a : ctx.db().list_apps(ctx.org->id))
    apps.push_back(app_view(a));
  return json_response(200, {{"apps", apps}});
}

http_response handle_apps_get(request_context& ctx) {
  return json_response(200, app_view(find_app(ctx)));
}

http_response handle_apps_update(request_context& ctx) {
  reject_immutable(ctx.body, {"id", "slug", "project_type"});
  json_fields f{ctx.body, {"name", "description", "env", "is_active",
                           "metadata", "guardrails", "aliases", "cache"}};
  auto a = find_app(ctx);
  apply_fields(f, a, false);
  apply_guardrails(ctx, f, a);
  apply_aliases_and_cache(f, a);
  auto out = unwrap(ctx.svc.gw.put_app(ctx.org->id, a, false, ctx.who()));
  return json_response(200, app_view(out));
}

http_response handle_apps_delete(request_context& ctx) {
  auto a = find_app(ctx);
  unwrap(ctx.svc.gw.delete_app(ctx.org->id, a.id, ctx.who()));
  return json_response(200, {{"deleted", true}, {"id", a.id}});
}

http_response handle_apps_info(request_context& ctx) {
  auto a = find_app(ctx);
  auto counts = ctx.db().app_counts(ctx.org->id, a.id);
  return json_response(200, {{"id", a.id},
                             {"name", a.name},
                             {"project_type", a.project_type},
                             {"env", a.env},
                             {"is_active", a.is_active},
                             {"keys", counts.keys},
                             {"requests", counts.requests}});
}

} // namespace gatehouse::http
