// Providers: create, list, read, update, delete, choose the default.

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "http/url_guard.hpp"
#include "policy/ids.hpp"
#include "policy/ssrf.hpp"
#include "policy/text.hpp"
#include "policy/time.hpp"
#include "policy/translate.hpp"
#include "policy/validate.hpp"
#include "storage/secrets.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;
using policy::errc;

// Values that end up as bytes of an upstream request line or header.
constexpr std::size_t max_auth_header_bytes = 128;
constexpr std::size_t max_auth_scheme_bytes = 64;
constexpr std::size_t max_api_key_bytes = 4096;

/// Refuses base URLs that break the rules of an upstream URL, or whose
/// host is, or resolves to, an address the SSRF guard does not allow.
void check_base_url(const request_context& ctx, const json_fields& f,
                    const std::string& url) {
  auto allowed = policy::parse_private_allowance(
                   ctx.svc.cfg.allow_private_upstreams)
                   .value_or(policy::private_allowance{});
  if (auto why = upstream_url_refusal(url, allowed))
    f.fail("base_url", *why);
}

std::vector<std::string> fallback_list(const json_fields& f) {
  auto names = f.optional_string_list("fallback").value_or(
    std::vector<std::string>{});
  for (auto& n : names)
    if (policy::validate_provider_name(n))
      f.fail("fallback", "'" + n + "' is not a provider name");
  return names;
}

void seal_key(const request_context& ctx, storage::provider_record& rec,
              const std::string& key) {
  rec.api_key_encrypted = storage::seal_secret(
    ctx.svc.secrets, key, actors::provider_key_aad(rec.id));
  rec.api_key_last4 = key.size() >= 4 ? key.substr(key.size() - 4) : key;
}

/// Applies the optional fields of `f` to `rec`; `creating` makes the
/// defaults apply.
void apply_fields(const request_context& ctx, const json_fields& f,
                  storage::provider_record& rec, bool creating) {
  for (auto name : {"base_url", "auth_mode", "auth_header", "auth_scheme",
                    "api_key", "fallback", "format"})
    if (f.is_null(name))
      f.fail(name, "must not be null");
  if (f.has("base_url") || creating) {
    rec.base_url = f.required_string("base_url");
    check_base_url(ctx, f, rec.base_url);
  }
  if (auto mode = f.optional_string("auth_mode")) {
    if (*mode != "api_key" && *mode != "passthrough")
      f.fail("auth_mode", "must be 'api_key' or 'passthrough'");
    rec.auth_mode = *mode;
  } else if (creating) {
    rec.auth_mode = "api_key";
  }
  if (auto h = f.optional_string("auth_header")) {
    if (!policy::is_http_token(*h) || h->size() > max_auth_header_bytes)
      f.fail("auth_header", "must be an HTTP header name of at most 128 "
                            "bytes");
    rec.auth_header = *h;
  }
  if (auto sch = f.optional_string("auth_scheme")) {
    if (!sch->empty()
        && (!policy::is_http_token(*sch)
            || sch->size() > max_auth_scheme_bytes))
      f.fail("auth_scheme", "must be empty or a single word of at most 64 "
                            "bytes");
    rec.auth_scheme = *sch;
  }
  if (f.has("fallback"))
    rec.fallback = fallback_list(f);
  if (auto format = f.optional_string("format")) {
    if (!policy::parse_api_format(*format))
      f.fail("format", "must be 'openai' or 'anthropic'");
    rec.format = *format;
  }
  auto key = f.optional_string("api_key");
  if (rec.auth_mode == "passthrough") {
    if (key)
      f.fail("api_key", "is not used in passthrough mode");
    rec.api_key_encrypted.reset();
    rec.api_key_last4.reset();
  } else if (key) {
    if (key->empty())
      f.fail("api_key", "must not be empty");
    if (key->size() > max_api_key_bytes)
      f.fail("api_key", "must be at most 4096 bytes");
    if (policy::has_control_bytes(*key))
      f.fail("api_key", "must not contain control characters (CR, LF, NUL, "
                        "...)");
    seal_key(ctx, rec, *key);
  } else if (!rec.api_key_encrypted) {
    f.fail("api_key", "is required in api_key mode");
  }
}

} // namespace

http_response handle_providers_create(request_context& ctx) {
  json_fields f{ctx.body, {"name", "base_url", "auth_mode", "api_key",
                           "auth_header", "auth_scheme", "fallback", "format"}};
  storage::provider_record rec;
  rec.name = f.required_string("name");
  if (auto err = policy::validate_provider_name(rec.name))
    f.fail("name", *err);
  if (rec.name == "default")
    f.fail("name", "'default' is reserved");
  rec.id = policy::uuid_v4();
  rec.org_id = ctx.org->id;
  apply_fields(ctx, f, rec, true);
  rec.created_at = rec.updated_at = policy::rfc3339(ctx.now_s);
  auto out = unwrap(ctx.svc.gw.put_provider(ctx.org->id, rec, true, ctx.who()));
  return json_response(201, actors::provider_view(out));
}

http_response handle_providers_list(request_context& ctx) {
  json list = json::array();
  json def = nullptr;
  for (auto& p : ctx.db().list_providers(ctx.org->id)) {
    if (p.is_default)
      def = p.name;
    list.push_back(actors::provider_view(p));
  }
  return json_response(200, {{"providers", list}, {"default_provider", def}});
}

http_response handle_providers_get(request_context& ctx) {
  auto p = ctx.db().find_provider(ctx.org->id, ctx.param("name"));
  if (!p)
    throw api_error(errc::not_found,
                    "no provider named '" + ctx.param("name") + "'");
  return json_response(200, actors::provider_view(*p));
}

http_response handle_providers_update(request_context& ctx) {
  reject_immutable(ctx.body, {"id", "name"});
  json_fields f{ctx.body, {"base_url", "auth_mode", "api_key", "auth_header",
                           "auth_scheme", "fallback", "format"}};
  auto rec = ctx.db().find_provider(ctx.org->id, ctx.param("name"));
  if (!rec)
    throw api_error(errc::not_found,
                    "no provider named '" + ctx.param("name") + "'");
  apply_fields(ctx, f, *rec, false);
  rec->updated_at = policy::rfc3339(ctx.now_s);
  auto out =
    unwrap(ctx.svc.gw.put_provider(ctx.org->id, *rec, false, ctx.who()));
  return json_response(200, actors::provider_view(out));
}

http_response handle_providers_delete(request_context& ctx) {
  auto out = unwrap(
    ctx.svc.gw.delete_provider(ctx.org->id, ctx.param("name"), ctx.who()));
  return json_response(200, actors::provider_view(out));
}

http_response handle_providers_default(request_context& ctx) {
  json_fields f{ctx.body, {"provider_name"}};
  auto name = f.required_string("provider_name");
  auto out =
    unwrap(ctx.svc.gw.set_default_provider(ctx.org->id, name, ctx.who()));
  return json_response(200, {{"default_provider", out}});
}

} // namespace gatehouse::http
