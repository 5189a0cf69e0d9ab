// Request logs and usage reports.

#include <nlohmann/json.hpp>

#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/query_params.hpp"
#include "policy/plan.hpp"
#include "policy/pricing.hpp"
#include "policy/time.hpp"
#include "policy/validate.hpp"
#include "storage/database.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;
using policy::errc;

bool tracks_cost(const request_context& ctx) {
  auto plan = policy::parse_plan(ctx.org->plan).value_or(policy::plan::free);
  return policy::has_feature(plan, policy::feature::cost_tracking);
}

json opt(const std::optional<std::string>& x) {
  return x ? json(*x) : json(nullptr);
}

/// Whether the org logs bodies now; bodies stored earlier stay hidden
/// while it does not.
bool shows_bodies(const request_context& ctx) {
  auto s = nlohmann::json::parse(ctx.org->settings_json, nullptr, false);
  return s.is_object() && s.value("log_bodies", false);
}

json log_view(const storage::request_log_record& r, bool cost,
              bool bodies) {
  json out = {{"id", r.id},
              {"request_id", r.request_id},
              {"created_at", r.created_at},
              {"key_id", opt(r.key_id)},
              {"key_prefix", opt(r.key_prefix)},
              {"app_id", opt(r.app_id)},
              {"team_id", opt(r.team_id)},
              {"provider", r.provider},
              {"model", r.model},
              {"requested_model", opt(r.requested_model)},
              {"method", r.method},
              {"path", r.path},
              {"status", r.status},
              {"error_code", opt(r.error_code)},
              {"stream", r.stream},
              {"tokens_in", r.tokens_in},
              {"tokens_out", r.tokens_out},
              {"usage_estimated", r.usage_estimated},
              {"unpriced", r.unpriced},
              {"latency_ms", r.latency_ms},
              {"ttft_ms", r.ttft_ms ? json(*r.ttft_ms) : json(nullptr)},
              {"session_id", opt(r.session_id)},
              {"end_user", opt(r.end_user)},
              {"env", opt(r.env)},
              {"cache", opt(r.cache)},
              {"translated", opt(r.translated)}};
  out["metadata"] = r.metadata_json ? json::parse(*r.metadata_json, nullptr,
                                                  false)
                                    : json(nullptr);
  if (out["metadata"].is_discarded())
    out["metadata"] = nullptr;
  auto hits = r.guardrails_json ? json::parse(*r.guardrails_json, nullptr,
                                              false)
                                : json::array();
  out["guardrails"] = hits.is_array() ? hits : json::array();
  if (cost)
    out["cost_usd"] = policy::micros_to_usd(r.cost_micros);
  if (bodies && r.request_body)
    out["request_body"] = *r.request_body;
  if (bodies && r.response_body)
    out["response_body"] = *r.response_body;
  return out;
}

} // namespace

http_response handle_logs(request_context& ctx) {
  storage::log_filter f;
  auto& q = ctx.req;
  f.app_id = query_uuid(q, "app_id");
  f.team_id = query_uuid(q, "team_id");
  f.key_id = query_uuid(q, "key_id");
  f.provider = query_text(q, "provider");
  f.model = query_text(q, "model");
  f.session_id = query_text(q, "session_id");
  if (q.query_param("status"))
    f.status = query_int(q, "status", 100, 599, 0);
  f.from = query_time(q, "from");
  f.to = query_time(q, "to");
  auto limit = query_page_size(q);
  storage::log_page page;
  try {
    page = ctx.db().query_logs(ctx.org->id, f, query_text(q, "cursor"), limit);
  } catch (const storage::bad_cursor&) {
    bad_query("cursor", "is not a cursor this API returned");
  }
  bool cost = tracks_cost(ctx);
  bool bodies = shows_bodies(ctx);
  json logs = json::array();
  for (auto& r : page.logs)
    logs.push_back(log_view(r, cost, bodies));
  return json_response(200, {{"logs", logs},
                             {"next_cursor", opt(page.next_cursor)}});
}

http_response handle_usage(request_context& ctx) {
  auto group_by = query_text(ctx.req, "group_by").value_or("day");
  static const char* groups[] = {"day", "app", "team", "key", "model",
                                 "provider"};
  if (std::find(std::begin(groups), std::end(groups), group_by)
      == std::end(groups))
    bad_query("group_by", "must be one of day, app, team, key, model, "
                          "provider");
  // By default the current UTC calendar month.
  auto month_start = policy::utc_month_start(ctx.now_s);
  auto next_month = ctx.now_s + policy::seconds_to_next_utc_month(ctx.now_s);
  auto from = query_time(ctx.req, "from").value_or(
    policy::rfc3339_ms(month_start * 1000));
  auto to = query_time(ctx.req, "to").value_or(
    policy::rfc3339_ms(next_month * 1000));
  bool cost = tracks_cost(ctx);
  json rows = json::array();
  json totals = {{"requests", 0}, {"tokens_in", 0}, {"tokens_out", 0}};
  long long total_cost = 0;
  for (auto& r : ctx.db().usage_report(ctx.org->id, group_by, from, to)) {
    // Requests without an app, team or key form the group null.
    json group = r.group.empty() && group_by != "day" && group_by != "model"
                     && group_by != "provider"
                   ? json(nullptr)
                   : json(r.group);
    json row = {{"group", group},
                {"requests", r.requests},
                {"tokens_in", r.tokens_in},
                {"tokens_out", r.tokens_out},
                {"unpriced_requests", r.unpriced_requests}};
    if (cost)
      row["cost_usd"] = policy::micros_to_usd(r.cost_micros);
    totals["requests"] = totals["requests"].get<long long>() + r.requests;
    totals["tokens_in"] = totals["tokens_in"].get<long long>() + r.tokens_in;
    totals["tokens_out"] =
      totals["tokens_out"].get<long long>() + r.tokens_out;
    total_cost += r.cost_micros;
    rows.push_back(std::move(row));
  }
  if (cost)
    totals["cost_usd"] = policy::micros_to_usd(total_cost);
  return json_response(200, {{"group_by", group_by},
                             {"from", from},
                             {"to", to},
                             {"usage", rows},
                             {"totals", totals}});
}

} // namespace gatehouse::http
