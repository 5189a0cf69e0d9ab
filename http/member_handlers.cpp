// Members of an organization: list, invite, accept, change, suspend, remove.

#include <nlohmann/json.hpp>

#include "actors/audit.hpp"
#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "http/query_params.hpp"
#include "http/session_token.hpp"
#include "policy/api_key.hpp"
#include "policy/crypto.hpp"
#include "policy/ids.hpp"
#include "policy/jwt.hpp"
#include "policy/password.hpp"
#include "policy/permissions.hpp"
#include "policy/time.hpp"
#include "policy/validate.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;
using policy::errc;
using policy::role;

/// How long an invitation can be accepted.
constexpr long long invite_lifetime_s = 7 * 24 * 3600;

json opt(const std::optional<std::string>& x) {
  return x ? json(*x) : json(nullptr);
}

json member_view(const storage::member_row& r) {
  auto& m = r.membership;
  return {{"id", r.user.id},
          {"name", r.user.display_name},
          {"email", r.user.email},
          {"role", m.role},
          {"status", m.status},
          {"team_id", opt(m.team_id)},
          {"last_active_at", opt(m.last_active_at)},
          {"joined_at", m.joined_at.empty() ? json(nullptr) : json(m.joined_at)},
          {"api_keys", r.api_keys},
          {"request_count", r.request_count}};
}

storage::member_row find_member(request_context& ctx) {
  auto& id = ctx.param("id");
  std::optional<storage::member_row> m;
  if (policy::is_uuid(id))
    m = ctx.db().find_member(ctx.org->id, id);
  if (!m)
    throw api_error(errc::not_found, "no member with id '" + id + "'");
  return std::move(*m);
}

role role_of(const storage::membership_record& m) {
  return policy::parse_role(m.role).value_or(role::viewer);
}

/// Refuses when the caller may not manage this member.
void check_manage(const request_context& ctx, const storage::member_row& m) {
  if (!policy::may_manage_member(ctx.role, role_of(m.membership)))
    throw api_error(errc::forbidden, "only owners may manage owners");
}

/// Stores a changed membership. The store refuses, in its transaction, a
/// change that would leave the org without an active owner: 409.
void save_membership(request_context& ctx, const storage::membership_record& m,
                     const storage::audit_record& audit) {
  try {
    ctx.db().update_membership(m, audit);
  } catch (const storage::last_owner_error& e) {
    throw api_error(errc::conflict, e.what());
  }
}

storage::audit_record member_audit(const request_context& ctx,
                                   const std::string& action,
                                   const storage::member_row& before,
                                   const std::optional<json>& after) {
  return actors::audit_entry(ctx.org->id, ctx.who(), action, "user",
                             before.user.id, member_view(before),
                             after ? *after : json());
}

/// The `data` of a member event.
std::string member_event_data(const storage::user_record& u,
                              const storage::membership_record& m) {
  return json{{"user_id", u.id},
              {"email", u.email},
              {"role", m.role},
              {"status", m.status},
              {"team_id", opt(m.team_id)}}
    .dump();
}

void raise_member_event(request_context& ctx, const std::string& org_id,
                        const char* type, const storage::user_record& u,
                        const storage::membership_record& m) {
  actors::webhook_event ev;
  ev.org_id = org_id;
  ev.type = type;
  ev.data_json = member_event_data(u, m);
  raise_webhook_event(ctx, std::move(ev));
}

std::string new_invite_token() {
  return "inv-" + policy::to_hex(policy::random_bytes(32));
}

json invite_answer(const std::string& token) {
  return {{"invite_token", token},
          {"invite_url", "/ui/invite#token=" + token}};
}

std::optional<std::string> team_param(request_context& ctx,
                                      const json_fields& f) {
  auto id = f.optional_string("team_id");
  if (id && !(policy::is_uuid(*id) && ctx.db().team_exists(ctx.org->id, *id)))
    f.fail("team_id", "no such team in this organization");
  return id;
}

/// The session token of an `Authorization: Bearer` header, if any.
std::optional<std::string_view> bearer_of(const http_request& req) {
  auto h = req.header("authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (!h || h->size() <= scheme.size() || h->substr(0, scheme.size()) != scheme)
    return std::nullopt;
  return h->substr(scheme.size());
}

/// True when the request acts for the existing account `user`: it carries
/// a valid session token of that user (signed, unexpired, of an active
/// membership) as `Authorization: Bearer`, or the account's password.
bool proves_account(request_context& ctx, const json_fields& f,
                    const storage::user_record& user) {
  if (auto token = bearer_of(ctx.req)) {
    auto claims
      = policy::verify_jwt(*token, ctx.svc.secrets.jwt_secret, ctx.now_s);
    if (claims && claims->sub == user.id) {
      auto m = ctx.db().find_membership(claims->org, claims->sub);
      if (m && m->status == "active")
        return true;
    }
  }
  auto password = f.optional_string("password");
  return password && policy::verify_password(*password, user.password_hash);
}

} // namespace

http_response handle_users_list(request_context& ctx) {
  storage::member_query q;
  auto text = [&](std::string_view name) { return query_text(ctx.req, name); };
  auto bad = [](std::string_view name, std::string_view why) {
    bad_query(name, why);
  };
  q.q = text("q");
  q.role = text("role");
  q.status = text("status");
  if (q.role && !policy::parse_role(*q.role))
    bad("role", "must be owner, admin, member or viewer");
  if (q.status && *q.status != "active" && *q.status != "invited"
      && *q.status != "suspended")
    bad("status", "must be active, invited or suspended");
  if (auto s = text("sort")) {
    static const char* sorts[] = {"name",   "email",       "role",
                                  "status", "last_active", "joined_at"};
    if (std::find(std::begin(sorts), std::end(sorts), *s) == std::end(sorts))
      bad("sort", "must be name, email, role, status, last_active or "
                  "joined_at");
    q.sort = *s;
  }
  if (auto o = text("order")) {
    if (*o != "asc" && *o != "desc")
      bad("order", "must be asc or desc");
    q.descending = *o == "desc";
  }
  json users = json::array();
  for (auto& r : ctx.db().list_members(ctx.org->id, q))
    users.push_back(member_view(r));
  auto s = ctx.db().summarize_members(ctx.org->id);
  json summary = {{"total", s.total},
                  {"active", s.active},
                  {"admins", s.admins},
                  {"pending_invites", s.pending_invites}};
  return json_response(200, {{"users", users}, {"summary", summary}});
}

http_response handle_users_invite(request_context& ctx) {
  json_fields f{ctx.body, {"email", "role", "team_id"}};
  auto email = policy::normalize_email(f.required_string("email"));
  if (auto err = policy::validate_email(email))
    f.fail("email", *err);
  auto r = f.optional_string("role").value_or("member");
  if (r != "admin" && r != "member" && r != "viewer")
    f.fail("role", "must be admin, member or viewer");
  auto team = team_param(ctx, f);
  auto now = policy::rfc3339(ctx.now_s);
  storage::user_record user;
  bool new_user = false;
  if (auto existing = ctx.db().find_user_by_email(email)) {
    user = std::move(*existing);
    if (ctx.db().find_membership(ctx.org->id, user.id))
      throw api_error(errc::conflict,
                      "field 'email': already a member of this organization");
  } else {
    new_user = true;
    user.id = policy::uuid_v4();
    user.email = email;
    user.display_name = email.substr(0, email.find('@'));
    user.created_at = now;
  }
  auto token = new_invite_token();
  storage::membership_record m;
  m.org_id = ctx.org->id;
  m.user_id = user.id;
  m.role = r;
  m.status = "invited";
  m.team_id = team;
  m.invite_token_hash = policy::sha256_hex(token);
  m.invited_at = now;
  storage::member_row row{user, m, 0, 0};
  auto audit = member_audit(ctx, "member.invite", row, member_view(row));
  audit.before_json.reset();
  try {
    ctx.db().insert_invite(user, new_user, m, audit);
  } catch (const storage::conflict_error&) {
    throw api_error(errc::conflict,
                    "field 'email': already a member of this organization");
  }
  raise_member_event(ctx, ctx.org->id, "member.invited", user, m);
  auto out = invite_answer(token);
  out["user"] = member_view(row);
  return json_response(201, out);
}

http_response handle_invite_accept(request_context& ctx) {
  json_fields f{ctx.body, {"invite_token", "password", "display_name"}};
  auto token = f.required_string("invite_token");
  auto found = ctx.db().find_invite(policy::sha256_hex(token));
  if (!found)
    throw api_error(errc::not_found, "no pending invitation for this token");
  auto& [user, m] = *found;
  auto invited = m.invited_at ? policy::parse_rfc3339(*m.invited_at)
                              : std::nullopt;
  if (invited && ctx.now_s > *invited + invite_lifetime_s)
    throw api_error(errc::not_found, "this invitation has expired");
  std::optional<std::string> hash;
  std::optional<std::string> name;
  if (user.password_hash.empty()) {
    // A new account: it needs a password and a name.
    auto password = f.required_string("password");
    if (auto err = policy::validate_password(password))
      f.fail("password", *err);
    auto display = f.required_string("display_name");
    if (auto err = policy::validate_display_name(display))
      f.fail("display_name", *err);
    hash = policy::hash_password(password, ctx.svc.cfg.bcrypt_cost);
    name = display;
    user.display_name = display;
  } else if (!proves_account(ctx, f, user)) {
    // An existing account joins only when it proves itself: otherwise
    // whoever registered the invited email first would join the org.
    throw api_error(errc::invalid_credentials,
                    "this email already has an account: give its password "
                    "or sign in and send its session token");
  }
  auto now = policy::rfc3339_ms(ctx.now_ms);
  auto a = actors::audit_entry(m.org_id, ctx.who_as(user.id), "member.accept",
                               "user", user.id);
  // Two accepts of one token: the second finds nothing pending.
  if (!ctx.db().accept_invite(m.org_id, user.id, hash, name, now, a))
    throw api_error(errc::not_found, "no pending invitation for this token");
  m.status = "active";
  raise_member_event(ctx, m.org_id, "member.joined", user, m);
  auto org = ctx.db().find_org(m.org_id);
  if (!org)
    throw api_error(errc::not_found, "the organization no longer exists");
  return json_response(
    200, {{"token", issue_session_token(ctx.svc, user.id, org->id, ctx.now_s)},
          {"org", actors::org_brief(*org)},
          {"user", actors::user_brief(user)}});
}

http_response handle_users_update(request_context& ctx) {
  json_fields f{ctx.body, {"role", "team_id"}};
  auto target = find_member(ctx);
  auto before = target;
  auto& m = target.membership;
  if (f.has("role")) {
    auto r = f.required_string("role");
    auto next = policy::parse_role(r);
    if (!next)
      f.fail("role", "must be owner, admin, member or viewer");
    if (!policy::may_assign_role(ctx.role, role_of(m), *next))
      throw api_error(errc::forbidden,
                      "only owners may grant or change the owner role");
    m.role = r;
  } else {
    check_manage(ctx, target);
  }
  if (f.has("team_id"))
    m.team_id = team_param(ctx, f);
  save_membership(
    ctx, m, member_audit(ctx, "member.update", before, member_view(target)));
  return json_response(200, member_view(target));
}

namespace {

http_response set_status(request_context& ctx, const std::string& status,
                         const char* action) {
  auto target = find_member(ctx);
  check_manage(ctx, target);
  auto before = target;
  auto& m = target.membership;
  if (m.status == "invited")
    throw api_error(errc::conflict, "the invitation is still pending");
  m.status = status;
  save_membership(ctx, m,
                  member_audit(ctx, action, before, member_view(target)));
  if (status == "suspended")
    raise_member_event(ctx, ctx.org->id, "member.suspended", target.user, m);
  return json_response(200, member_view(target));
}

} // namespace

http_response handle_users_suspend(request_context& ctx) {
  return set_status(ctx, "suspended", "member.suspend");
}

http_response handle_users_reactivate(request_context& ctx) {
  return set_status(ctx, "active", "member.reactivate");
}

http_response handle_users_resend(request_context& ctx) {
  auto target = find_member(ctx);
  check_manage(ctx, target);
  if (target.membership.status != "invited")
    throw api_error(errc::conflict, "the member has already joined");
  auto before = target;
  auto token = new_invite_token();
  target.membership.invite_token_hash = policy::sha256_hex(token);
  target.membership.invited_at = policy::rfc3339(ctx.now_s);
  ctx.db().update_membership(
    target.membership,
    member_audit(ctx, "member.resend_invite", before, std::nullopt));
  auto out = invite_answer(token);
  out["user"] = member_view(target);
  return json_response(200, out);
}

http_response handle_users_delete(request_context& ctx) {
  auto target = find_member(ctx);
  check_manage(ctx, target);
  // The last-owner rule is checked in the storage transaction (409).
  unwrap(ctx.svc.gw.remove_member(ctx.org->id, target.user.id, ctx.who()));
  return json_response(200, {{"deleted", true}, {"id", target.user.id}});
}

} // namespace gatehouse::http
