// API keys: create, list, revoke, rotate.

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/guardrail_fields.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "policy/api_key.hpp"
#include "policy/ids.hpp"
#include "policy/scopes.hpp"
#include "policy/time.hpp"
#include "policy/validate.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;
using policy::errc;

constexpr long long max_rpm = 1'000'000;
constexpr long long max_overlap_hours = 168;

bool is_admin(const request_context& ctx) {
  return policy::at_least(ctx.role, policy::role::admin);
}

/// The key `id` of the caller's org that the caller may manage.
storage::api_key_record manageable_key(request_context& ctx) {
  auto& id = ctx.param("id");
  std::optional<storage::api_key_record> key;
  if (policy::is_uuid(id))
    key = ctx.db().find_key(ctx.org->id, id);
  if (!key)
    throw api_error(errc::not_found, "no API key with id '" + id + "'");
  if (!is_admin(ctx) && key->user_id != ctx.user->id)
    throw api_error(errc::forbidden, "you may manage only your own keys");
  return std::move(*key);
}

std::optional<std::string> existing_row(request_context& ctx,
                                        const json_fields& f,
                                        std::string_view field, bool team) {
  auto id = f.optional_string(field);
  if (!id)
    return std::nullopt;
  bool found = policy::is_uuid(*id)
               && (team ? ctx.db().team_exists(ctx.org->id, *id)
                        : ctx.db().app_exists(ctx.org->id, *id));
  if (!found)
    f.fail(field, "no such " + std::string{team ? "team" : "app"}
                    + " in this organization");
  return id;
}

} // namespace

http_response handle_keys_create(request_context& ctx) {
  json_fields f{ctx.body, {"name", "scopes", "app_id", "team_id",
                           "rate_limit_rpm", "expires_at", "guardrails"}};
  storage::api_key_record rec;
  rec.name = f.required_string("name");
  if (auto err = policy::validate_display_name(rec.name))
    f.fail("name", *err);
  rec.scopes = f.optional_string_list("scopes").value_or(
    std::vector<std::string>{"*"});
  if (rec.scopes.empty())
    f.fail("scopes", "must not be empty");
  for (auto& s : rec.scopes)
    if (auto err = policy::validate_scope(s))
      f.fail("scopes", *err);
  rec.app_id = existing_row(ctx, f, "app_id", false);
  if (f.has("guardrails")) {
    // A key adds to its org's and app's rules or tightens them.
    policy::guardrail_rules app_rules;
    if (rec.app_id)
      if (auto app = ctx.db().find_app(ctx.org->id, *rec.app_id))
        app_rules = read_guardrails(app->guardrails_json);
    rec.guardrails_json = stored_guardrails(
      ctx, f.get("guardrails"), "guardrails",
      policy::effective_guardrail_rules(
        read_guardrails(ctx.org->guardrails_json), app_rules, {}));
  }
  rec.team_id = existing_row(ctx, f, "team_id", true);
  if (!is_admin(ctx)) {
    // Members create keys only within their own team.
    auto own = ctx.membership->team_id;
    if (rec.team_id && rec.team_id != own)
      throw api_error(errc::forbidden,
                      "members may create keys only for their own team");
    rec.team_id = own;
  }
  if (auto rpm = f.optional_int("rate_limit_rpm", 1, max_rpm))
    rec.rate_limit_rpm = static_cast<int>(*rpm);
  if (auto exp = f.optional_string("expires_at")) {
    auto t = policy::parse_rfc3339(*exp);
    if (!t)
      f.fail("expires_at", "must be an RFC 3339 timestamp");
    if (*t <= ctx.now_s)
      f.fail("expires_at", "must be in the future");
    rec.expires_at = policy::rfc3339(*t);
  }
  auto raw = policy::generate_api_key();
  rec.id = policy::uuid_v4();
  rec.org_id = ctx.org->id;
  rec.user_id = ctx.user->id;
  rec.key_hash = policy::key_hash(raw);
  rec.key_prefix = policy::key_prefix(raw);
  rec.status = "active";
  rec.created_at = policy::rfc3339(ctx.now_s);
  auto key = unwrap(ctx.svc.gw.create_key(ctx.org->id, rec, ctx.who()));
  return json_response(201, {{"key", actors::key_view(key, ctx.now_s)},
                             {"raw_key", raw}});
}

http_response handle_keys_list(request_context& ctx) {
  // Members see their own keys; admins and viewers see all.
  std::optional<std::string> only;
  if (ctx.role == policy::role::member)
    only = ctx.user->id;
  json keys = json::array();
  for (auto& k : ctx.db().list_keys(ctx.org->id, only))
    keys.push_back(actors::key_view(k, ctx.now_s));
  return json_response(200, {{"keys", keys}});
}

http_response handle_keys_revoke(request_context& ctx) {
  auto key = manageable_key(ctx);
  auto out = unwrap(ctx.svc.gw.revoke_key(ctx.org->id, key.id, ctx.who()));
  return json_response(200, {{"key", actors::key_view(out, ctx.now_s)}});
}

http_response handle_keys_rotate(request_context& ctx) {
  json_fields f{ctx.body, {"overlap_hours"}};
  auto overlap = f.optional_int("overlap_hours", 0, max_overlap_hours)
                   .value_or(24);
  auto key = manageable_key(ctx);
  if (key.status == "revoked")
    throw api_error(errc::not_found,
                    "no active API key with id '" + key.id + "'");
  auto raw = policy::generate_api_key();
  auto out = unwrap(ctx.svc.gw.rotate_key(
    ctx.org->id, key.id, policy::key_hash(raw), policy::key_prefix(raw),
    static_cast<int>(overlap), ctx.who()));
  auto until = policy::rfc3339(ctx.now_s + overlap * 3600);
  std::string message =
    overlap == 0 ? "the previous key no longer works"
                 : "the previous key keeps working until " + until;
  return json_response(200, {{"key", actors::key_view(out, ctx.now_s)},
                             {"raw_key", raw},
                             {"overlap_hours", overlap},
                             {"message", message}});
}

} // namespace gatehouse::http
