// Teams and their budgets.

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "actors/views.hpp"
#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "policy/budget.hpp"
#include "policy/ids.hpp"
#include "policy/pricing.hpp"
#include "policy/time.hpp"
#include "policy/validate.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;
using policy::errc;

constexpr std::size_t max_description = 1000;

using usage_map = std::map<std::string, actors::team_usage>;

usage_map live_usage(request_context& ctx) {
  usage_map out;
  for (auto& u : unwrap(ctx.svc.gw.team_usages(ctx.org->id, ctx.now_s)))
    out[u.team_id] = u;
  return out;
}

json team_view(const storage::team_row& row, const usage_map& usage) {
  auto& t = row.team;
  actors::team_usage u;
  if (auto i = usage.find(t.id); i != usage.end())
    u = i->second;
  json out = {{"id", t.id},
              {"name", t.name},
              {"description", t.description},
              {"member_count", row.member_count},
              {"monthly_spend_usd", policy::micros_to_usd(u.spent_micros)},
              {"monthly_requests", u.requests},
              {"created_at", t.created_at}};
  out["monthly_spend_limit_usd"] =
    t.monthly_spend_limit_micros
      ? json(policy::micros_to_usd(*t.monthly_spend_limit_micros))
      : json(nullptr);
  if (auto b = policy::budget_of(t.monthly_spend_limit_micros, u.spent_micros))
    out["budget"] = {{"used_pct", b->used_pct}, {"status", b->status}};
  return out;
}

storage::team_row find_row(request_context& ctx) {
  auto& id = ctx.param("id");
  std::optional<storage::team_row> row;
  if (policy::is_uuid(id))
    row = ctx.db().find_team_row(ctx.org->id, id);
  if (!row)
    throw api_error(errc::not_found, "no team with id '" + id + "'");
  return std::move(*row);
}

/// Applies name, description and limit from `f` to `t`.
void apply_fields(const json_fields& f, storage::team_record& t,
                  bool creating) {
  if (creating || f.has("name")) {
    t.name = f.required_string("name");
    if (auto err = policy::validate_display_name(t.name))
      f.fail("name", *err);
  }
  if (f.has("description")) {
    auto d = f.optional_string("description").value_or("");
    if (d.size() > max_description)
      f.fail("description", "must be at most 1000 characters");
    t.description = d;
  }
  if (f.has("monthly_spend_limit_usd")) {
    auto& v = f.get("monthly_spend_limit_usd");
    if (v.is_null()) {
      t.monthly_spend_limit_micros.reset();
    } else {
      if (!v.is_number())
        f.fail("monthly_spend_limit_usd", "must be a number of USD or null");
      auto micros = policy::usd_to_micros(v.get<double>());
      if (!micros)
        f.fail("monthly_spend_limit_usd",
               "must be between 0 and 1000000000 USD");
      t.monthly_spend_limit_micros = *micros;
    }
  }
}

} // namespace

http_response handle_teams_create(request_context& ctx) {
  json_fields f{ctx.body, {"name", "description", "monthly_spend_limit_usd"}};
  storage::team_record t;
  t.id = policy::uuid_v4();
  t.org_id = ctx.org->id;
  apply_fields(f, t, true);
  t.created_at = policy::rfc3339(ctx.now_s);
  auto out = unwrap(ctx.svc.gw.put_team(ctx.org->id, t, true, ctx.who()));
  return json_response(201, team_view(storage::team_row{out, 0, 0}, {}));
}

http_response handle_teams_list(request_context& ctx) {
  auto q = ctx.req.query_param("q");
  auto rows = ctx.db().list_team_rows(
    ctx.org->id, q ? std::optional<std::string>{std::string{*q}}
                   : std::nullopt);
  auto usage = live_usage(ctx);
  json teams = json::array();
  long long members = 0, requests = 0, spent = 0;
  for (auto& r : rows) {
    teams.push_back(team_view(r, usage));
    members += r.member_count;
    if (auto i = usage.find(r.team.id); i != usage.end()) {
      requests += i->second.requests;
      spent += i->second.spent_micros;
    }
  }
  json summary = {{"total_teams", rows.size()},
                  {"total_members", members},
                  {"monthly_spend_usd", policy::micros_to_usd(spent)},
                  {"monthly_requests", requests}};
  return json_response(200, {{"teams", teams}, {"summary", summary}});
}

http_response handle_teams_get(request_context& ctx) {
  auto row = find_row(ctx);
  auto out = team_view(row, live_usage(ctx));
  json keys = json::array();
  for (auto& k : ctx.db().list_team_keys(ctx.org->id, row.team.id))
    keys.push_back(actors::key_view(k, ctx.now_s));
  out["api_keys"] = keys;
  return json_response(200, out);
}

http_response handle_teams_update(request_context& ctx) {
  reject_immutable(ctx.body, {"id"});
  json_fields f{ctx.body, {"name", "description", "monthly_spend_limit_usd"}};
  auto row = find_row(ctx);
  apply_fields(f, row.team, false);
  row.team = unwrap(
    ctx.svc.gw.put_team(ctx.org->id, row.team, false, ctx.who()));
  return json_response(200, team_view(row, live_usage(ctx)));
}

http_response handle_teams_delete(request_context& ctx) {
  auto row = find_row(ctx);
  unwrap(ctx.svc.gw.delete_team(ctx.org->id, row.team.id, ctx.who()));
  return json_response(200, {{"deleted", true}, {"id", row.team.id}});
}

} // namespace gatehouse::http
