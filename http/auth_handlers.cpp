// Sign-up, login and the session routes.

#include <nlohmann/json.hpp>

#include "actors/audit.hpp"
#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "http/routes.hpp"
#include "http/session_token.hpp"
#include "policy/api_key.hpp"
#include "policy/crypto.hpp"
#include "policy/ids.hpp"
#include "policy/password.hpp"
#include "policy/plan.hpp"
#include "policy/time.hpp"
#include "policy/validate.hpp"
#include "storage/database.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;
using policy::errc;

std::string issue_token(const request_context& ctx, const std::string& user_id,
                        const std::string& org_id) {
  return issue_session_token(ctx.svc, user_id, org_id, ctx.now_s);
}

void check(const json_fields& f, std::string_view field,
           const std::optional<std::string>& error) {
  if (error)
    f.fail(field, *error);
}

/// The `field` a uniqueness violation is about, from its constraint name.
std::string conflicting_field(const std::string& constraint) {
  if (constraint.find("slug") != std::string::npos)
    return "org_slug";
  if (constraint.find("email") != std::string::npos)
    return "email";
  return "request";
}

// A valid bcrypt hash of a random string: checking a password against it when
// the email is unknown makes both failures take the same time.
const std::string& dummy_hash(int cost) {
  static const std::string hash =
    policy::hash_password(policy::to_hex(policy::random_bytes(16)), cost);
  return hash;
}

json token_answer(const request_context& ctx, const storage::user_record& u,
                  const storage::org_record& org) {
  return {{"token", issue_token(ctx, u.id, org.id)},
          {"user", actors::user_brief(u)},
          {"org", actors::org_brief(org)}};
}

} // namespace

http_response handle_signup(request_context& ctx) {
  json_fields f{ctx.body,
                {"email", "password", "org_slug", "org_name", "display_name"}};
  auto email = policy::normalize_email(f.required_string("email"));
  auto password = f.required_string("password");
  auto slug = f.required_string("org_slug");
  auto org_name = f.required_string("org_name");
  auto display_name = f.required_string("display_name");
  check(f, "email", policy::validate_email(email));
  check(f, "password", policy::validate_password(password));
  check(f, "org_slug", policy::validate_org_slug(slug));
  check(f, "org_name", policy::validate_display_name(org_name));
  check(f, "display_name", policy::validate_display_name(display_name));
  if (ctx.db().find_org_by_slug(slug))
    throw api_error(errc::conflict, "field 'org_slug': '" + slug
                                      + "' is already taken");
  auto now = policy::rfc3339(ctx.now_s);
  storage::user_record user;
  bool new_user = true;
  if (auto existing = ctx.db().find_user_by_email(email)) {
    // An existing account may found another org, but only with its password.
    if (!policy::verify_password(password, existing->password_hash))
      throw api_error(errc::conflict,
                      "field 'email': already registered (sign up with the "
                      "account's password to add an organization)");
    user = std::move(*existing);
    new_user = false;
  } else {
    user.id = policy::uuid_v4();
    user.email = email;
    user.display_name = display_name;
    user.password_hash =
      policy::hash_password(password, ctx.svc.cfg.bcrypt_cost);
    user.created_at = now;
  }
  storage::org_record org;
  org.id = policy::uuid_v4();
  org.slug = slug;
  org.name = org_name;
  org.plan = ctx.svc.cfg.default_plan;
  org.settings_json = "{}";
  org.created_at = now;
  storage::membership_record member;
  member.org_id = org.id;
  member.user_id = user.id;
  member.role = "owner";
  member.status = "active";
  member.joined_at = now;
  // Milliseconds, so that "most recently used" orders within a second.
  member.last_active_at = policy::rfc3339_ms(ctx.now_ms);
  member.last_used_at = member.last_active_at;
  auto raw_key = policy::generate_api_key();
  storage::api_key_record key;
  key.id = policy::uuid_v4();
  key.org_id = org.id;
  key.user_id = user.id;
  key.name = "Default";
  key.key_hash = policy::key_hash(raw_key);
  key.key_prefix = policy::key_prefix(raw_key);
  key.scopes = {"*"};
  key.status = "active";
  key.created_at = now;
  auto audit = actors::audit_entry(org.id, ctx.who_as(user.id), "org.create",
                                   "org", org.id, nullptr,
                                   actors::org_full(org));
  try {
    ctx.db().create_signup(org, user, new_user, member, key, audit);
  } catch (const storage::conflict_error& e) {
    auto field = conflicting_field(e.constraint);
    throw api_error(errc::conflict,
                    "field '" + field + "': already taken");
  }
  ctx.svc.gw.key_created(key.key_hash, org.id);
  json body = {{"org", actors::org_brief(org)},
               {"user", actors::user_brief(user)},
               {"api_key", raw_key},
               {"token", issue_token(ctx, user.id, org.id)}};
  return json_response(201, body);
}

http_response handle_login(request_context& ctx) {
  json_fields f{ctx.body, {"email", "password"}};
  auto email = policy::normalize_email(f.required_string("email"));
  auto password = f.required_string("password");
  auto user = ctx.db().find_user_by_email(email);
  bool ok = user ? policy::verify_password(password, user->password_hash)
                 : (policy::verify_password(password,
                                            dummy_hash(ctx.svc.cfg.bcrypt_cost)),
                    false);
  if (!ok)
    throw api_error(errc::invalid_credentials, "invalid email or password");
  auto recent = ctx.db().most_recent_org(user->id);
  if (!recent) {
    for (auto& om : ctx.db().list_user_memberships(user->id))
      if (om.membership.status == "suspended")
        throw api_error(errc::user_suspended,
                        "your membership is suspended");
    throw api_error(errc::forbidden,
                    "this account is not an active member of any "
                    "organization");
  }
  auto& org = recent->org;
  ctx.db().touch_membership(org.id, user->id, policy::rfc3339_ms(ctx.now_ms));
  return json_response(200, token_answer(ctx, *user, org));
}

http_response handle_me(request_context& ctx) {
  json body = {{"user", actors::user_brief(*ctx.user)},
               {"org", actors::org_brief(*ctx.org)},
               {"role", std::string{policy::to_string(ctx.role)}},
               {"permissions", permissions_for(ctx.role)}};
  return json_response(200, body);
}

http_response handle_entitlements(request_context& ctx) {
  auto plan = policy::parse_plan(ctx.org->plan).value_or(policy::plan::free);
  json ents = json::object();
  for (auto feat : policy::all_features())
    ents[std::string{policy::to_string(feat)}] = policy::has_feature(plan, feat);
  auto settings = actors::effective_settings(*ctx.org);
  auto lim = policy::limits_for(plan, std::nullopt, false);
  json limits = {
    {"max_providers",
     lim.max_providers ? json(*lim.max_providers) : json(nullptr)},
    {"max_api_keys", lim.max_api_keys},
    {"log_retention_days", settings["log_retention_days"]}};
  json body = {{"org_id", ctx.org->id},
               {"plan", ctx.org->plan},
               {"entitlements", ents},
               {"limits", limits}};
  return json_response(200, body);
}

http_response handle_my_orgs(request_context& ctx) {
  json orgs = json::array();
  for (auto& om : ctx.db().list_user_memberships(ctx.user->id)) {
    if (om.membership.status != "active")
      continue;
    auto item = actors::org_brief(om.org);
    item["role"] = om.membership.role;
    orgs.push_back(std::move(item));
  }
  return json_response(200, {{"orgs", orgs}});
}

http_response handle_switch_org(request_context& ctx) {
  json_fields f{ctx.body, {"org_id"}};
  auto org_id = f.required_string("org_id");
  if (!policy::is_uuid(org_id))
    f.fail("org_id", "must be a UUID");
  auto m = ctx.db().find_membership(org_id, ctx.user->id);
  if (!m || m->status != "active")
    throw api_error(errc::forbidden,
                    "you are not an active member of that organization");
  auto org = ctx.db().find_org(org_id);
  if (!org)
    throw api_error(errc::forbidden,
                    "you are not an active member of that organization");
  ctx.db().touch_membership(org_id, ctx.user->id, policy::rfc3339_ms(ctx.now_ms));
  json body = {{"token", issue_token(ctx, ctx.user->id, org_id)},
               {"org", actors::org_brief(*org)}};
  return json_response(200, body);
}

} // namespace gatehouse::http
