// Webhooks of the caller's organization and their delivery logs.

#include <nlohmann/json.hpp>

#include "actors/audit.hpp"
#include "actors/gateway.hpp"
#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "http/url_guard.hpp"
#include "http/query_params.hpp"
#include "http/webhook_client.hpp"
#include "policy/ids.hpp"
#include "policy/text.hpp"
#include "policy/time.hpp"
#include "policy/validate.hpp"
#include "policy/webhook.hpp"
#include "storage/secrets.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;
using policy::errc;

constexpr std::size_t max_description = 1000;
constexpr std::size_t max_webhooks = 20;

json webhook_view(const storage::webhook_record& w) {
  auto events = json::parse(w.events_json, nullptr, false);
  return {{"id", w.id},
          {"url", w.url},
          {"events", events.is_discarded() ? json::array() : events},
          {"app_id", w.app_id ? json(*w.app_id) : json()},
          {"description", w.description ? json(*w.description) : json()},
          {"created_at", w.created_at}};
}

storage::webhook_record find_hook(request_context& ctx) {
  auto& id = ctx.param("id");
  auto w = policy::is_uuid(id) ? ctx.db().find_webhook(ctx.org->id, id)
                               : std::nullopt;
  if (!w)
    throw api_error(errc::not_found,
                    "no webhook with id '" + policy::echo(id, 64) + "'");
  return std::move(*w);
}

storage::audit_record hook_audit(const request_context& ctx,
                                 const std::string& action,
                                 const storage::webhook_record& w) {
  return actors::audit_entry(ctx.org->id, ctx.who(), action, "webhook",
                             w.id);
}

} // namespace

void raise_webhook_event(request_context& ctx, actors::webhook_event ev) {
  auto& hooks = ctx.svc.gw.webhooks();
  try {
    if (!ctx.db().org_has_webhooks(ev.org_id))
      return;
    actors::enqueue_webhook_event(ctx.db(), ev, ctx.now_ms);
    hooks.nudge();
  } catch (const std::exception&) {
    // The change stands; the delivery thread queues the event.
    hooks.emit(std::move(ev));
  }
}

http_response handle_webhooks_create(request_context& ctx) {
  json_fields f{ctx.body, {"url", "events", "app_id", "description"}};
  auto url = f.required_string("url");
  auto allow
    = policy::parse_private_allowance(ctx.svc.cfg.allow_private_upstreams)
        .value_or(policy::private_allowance{});
  if (auto why = upstream_url_refusal(url, allow))
    f.fail("url", *why);
  if (!f.has("events"))
    f.fail("events", "is required");
  auto events = unwrap(policy::parse_webhook_events(f.get("events"), "events"));
  auto app_id = f.optional_string("app_id");
  if (app_id
      && !(policy::is_uuid(*app_id)
           && ctx.db().app_exists(ctx.org->id, *app_id)))
    f.fail("app_id", "no such app in this organization");
  auto description = f.optional_string("description");
  if (description && description->size() > max_description)
    f.fail("description", "must be at most 1000 bytes");
  if (ctx.db().list_webhooks(ctx.org->id).size() >= max_webhooks)
    throw api_error(errc::conflict, "an organization has at most "
                                      + std::to_string(max_webhooks)
                                      + " webhooks");
  storage::webhook_record w;
  w.id = policy::uuid_v4();
  w.org_id = ctx.org->id;
  w.app_id = app_id;
  w.url = url;
  w.events_json = json(events).dump();
  w.description = description;
  w.created_at = policy::rfc3339_ms(ctx.now_ms);
  auto secret = policy::new_webhook_secret();
  w.secret_encrypted = storage::seal_secret(ctx.svc.secrets, secret,
                                            actors::webhook_secret_aad(w.id));
  auto audit = hook_audit(ctx, "webhook.create", w);
  audit.after_json = webhook_view(w).dump();
  ctx.db().insert_webhook(w, audit);
  ctx.svc.gw.webhooks().set_active(ctx.org->id, true);
  return json_response(201, {{"webhook", webhook_view(w)}, {"secret", secret}});
}

http_response handle_webhooks_list(request_context& ctx) {
  json out = json::array();
  for (auto& w : ctx.db().list_webhooks(ctx.org->id))
    out.push_back(webhook_view(w));
  return json_response(200, {{"webhooks", out}});
}

http_response handle_webhooks_delete(request_context& ctx) {
  auto w = find_hook(ctx);
  auto audit = hook_audit(ctx, "webhook.delete", w);
  audit.before_json = webhook_view(w).dump();
  if (!ctx.db().delete_webhook(ctx.org->id, w.id, audit))
    throw api_error(errc::not_found, "no webhook with id '" + w.id + "'");
  ctx.svc.gw.webhooks().set_active(ctx.org->id,
                                   ctx.db().org_has_webhooks(ctx.org->id));
  return json_response(200, {{"deleted", true}, {"id", w.id}});
}

http_response handle_webhooks_deliveries(request_context& ctx) {
  auto w = find_hook(ctx);
  auto limit = query_int(ctx.req, "limit", 1, 500, 100);
  json out = json::array();
  for (auto& a : ctx.db().list_webhook_attempts(w.id, limit))
    out.push_back(
      {{"id", a.id},
       {"event_id", a.event_id},
       {"type", a.type},
       {"attempt", a.attempt},
       {"status_code", a.status_code ? json(*a.status_code) : json()},
       {"error", a.error ? json(*a.error) : json()},
       {"at", a.at}});
  return json_response(200, {{"deliveries", out}});
}

http_response handle_webhooks_test(request_context& ctx) {
  auto w = find_hook(ctx);
  actors::webhook_event ev;
  ev.org_id = ctx.org->id;
  ev.type = "webhook.test";
  ev.data_json = json{{"webhook_id", w.id}}.dump();
  ev.webhook_id = w.id;
  auto id = actors::enqueue_webhook_event(ctx.db(), ev, ctx.now_ms);
  ctx.svc.gw.webhooks().nudge();
  auto audit = hook_audit(ctx, "webhook.test", w);
  ctx.db().insert_audit(audit);
  return json_response(202, {{"event_id", id}});
}

} // namespace gatehouse::http
