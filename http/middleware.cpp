#include "http/middleware.hpp"

#include "actors/gateway.hpp"
#include "http/api_error.hpp"
#include "http/json_fields.hpp"
#include "policy/crypto.hpp"
#include "policy/jwt.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using policy::errc;

std::string bearer_token(const http_request& req) {
  auto h = req.header("authorization");
  if (!h)
    throw api_error(errc::unauthorized, "missing Authorization header");
  constexpr std::string_view scheme = "Bearer ";
  if (h->size() <= scheme.size() || h->substr(0, scheme.size()) != scheme)
    throw api_error(errc::unauthorized,
                    "Authorization header must be 'Bearer <token>'");
  return std::string{h->substr(scheme.size())};
}

void authenticate_operator(request_context& ctx) {
  auto token = bearer_token(ctx.req);
  auto& expected = ctx.svc.cfg.operator_token;
  if (expected.empty())
    throw api_error(errc::unauthorized,
                    "operator routes are disabled on this node");
  if (!policy::constant_time_equal(token, expected))
    throw api_error(errc::unauthorized, "invalid operator token");
}

void authenticate_session(request_context& ctx) {
  auto token = bearer_token(ctx.req);
  auto claims = policy::verify_jwt(token, ctx.svc.secrets.jwt_secret,
                                   ctx.now_s);
  if (!claims)
    throw api_error(errc::unauthorized, "invalid or expired session token");
  // Role and status are read live so that changes apply at once.
  auto user = ctx.db().find_user(claims->sub);
  auto member = ctx.db().find_membership(claims->org, claims->sub);
  auto org = ctx.db().find_org(claims->org);
  if (!user || !member || !org || member->status == "invited")
    throw api_error(errc::unauthorized, "invalid or expired session token");
  if (member->status == "suspended")
    throw api_error(errc::user_suspended,
                    "your membership in this organization is suspended");
  ctx.role = policy::parse_role(member->role).value_or(policy::role::viewer);
  ctx.user = std::move(user);
  ctx.membership = std::move(member);
  ctx.org = std::move(org);
}

void check_option_gates(const route& r, request_context& ctx,
                        policy::plan plan) {
  for (auto& g : r.gates) {
    nlohmann::json::json_pointer ptr{g.pointer};
    if (!ctx.body.contains(ptr))
      continue;
    auto& v = ctx.body.at(ptr);
    // Leaving an option unset, empty or off needs no plan.
    if (v.is_null() || (v.is_array() && v.empty())
        || (v.is_boolean() && !v.get<bool>()))
      continue;
    bool ok = g.feature ? policy::has_feature(plan, *g.feature)
                        : plan == policy::plan::enterprise;
    if (!ok) {
      std::string field = std::string{g.pointer + 1};
      for (auto& c : field)
        if (c == '/')
          c = '.';
      throw api_error(errc::plan_required,
                      "option '" + field + "' requires the enterprise plan");
    }
  }
}

} // namespace

std::string client_ip(const http_request& req, const services& svc) {
  // Several X-Forwarded-For lines form one list, in order (RFC 9110 5.3).
  std::string xff;
  for (auto& [name, value] : req.headers) {
    if (name != "x-forwarded-for")
      continue;
    if (!xff.empty())
      xff += ',';
    xff += value;
  }
  return policy::resolve_client_ip(req.peer_ip, xff, svc.trusted_proxies);
}

void enforce_route(const route& r, request_context& ctx) {
  if (r.auth_limited) {
    auto d = ctx.svc.gw.hit_auth_limit(ctx.client_ip, ctx.svc.now_ms());
    if (!d.allowed) {
      auto p = policy::make_problem(errc::rate_limited,
                                    "too many attempts; try again later");
      p.retry_after_s = d.retry_after_s;
      throw api_error(std::move(p));
    }
  }
  if (r.cred == credential::operator_token)
    authenticate_operator(ctx);
  else if (r.cred == credential::session)
    authenticate_session(ctx);
  if (ctx.req.method == "POST" || ctx.req.method == "PUT"
      || ctx.req.method == "PATCH")
    ctx.body = parse_body(ctx.req.body, ctx.svc.cfg.max_json_depth);
  if (r.cred != credential::session)
    return;
  if (!policy::at_least(ctx.role, r.min_role))
    throw api_error(errc::forbidden, "your role may not do this");
  auto plan = policy::parse_plan(ctx.org->plan).value_or(policy::plan::free);
  if (r.feature && !policy::has_feature(plan, *r.feature))
    throw api_error(errc::plan_required,
                    "this feature requires the enterprise plan");
  check_option_gates(r, ctx, plan);
}

} // namespace gatehouse::http
