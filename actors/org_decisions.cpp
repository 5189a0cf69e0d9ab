// What an org actor decides, as plain functions of its state.

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "actors/org_actor.hpp"
#include "actors/directory.hpp"
#include "actors/org_lease.hpp"
#include "policy/budget.hpp"
#include "policy/guardrails.hpp"
#include "policy/key_validity.hpp"
#include "policy/plan.hpp"
#include "policy/provider_select.hpp"
#include "policy/scopes.hpp"
#include "policy/ssrf.hpp"
#include "policy/time.hpp"
#include "policy/translate.hpp"

namespace gatehouse::actors {

namespace {

using policy::errc;

/// Seconds an answer is cached when neither the request nor its app says.
constexpr int default_cache_ttl_s = 300;

authorization deny(errc code, std::string message) {
  authorization out;
  out.denial = policy::make_problem(code, std::move(message));
  return out;
}

policy::plan plan_of(const org_view& st) {
  return policy::parse_plan(st.org.plan).value_or(policy::plan::free);
}

bool log_bodies(const org_view& st) {
  auto j = nlohmann::json::parse(st.org.settings_json, nullptr, false);
  return j.is_object() && j.value("log_bodies", false);
}

bool has_scope_kind(const std::vector<std::string>& scopes,
                    std::string_view prefix) {
  for (auto& s : scopes)
    if (s.compare(0, prefix.size(), prefix) == 0)
      return true;
  return false;
}

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// Whether the key's scopes leave this provider open (models aside).
bool provider_allowed(const std::vector<std::string>& scopes,
                      const std::string& provider) {
  return contains(scopes, "*") || !has_scope_kind(scopes, "provider:")
         || contains(scopes, "provider:" + provider);
}

/// Seconds an app's answers are cached for, from its stored settings; 0
/// when its cache is off.
int app_cache_ttl(const std::string& cache_json) {
  if (cache_json.empty() || cache_json == "{}")
    return 0;
  auto j = nlohmann::json::parse(cache_json, nullptr, false);
  if (!j.is_object() || !j.value("enabled", false))
    return 0;
  auto ttl = j.value("ttl_seconds", default_cache_ttl_s);
  return ttl > 0 ? ttl : default_cache_ttl_s;
}

/// The endpoints whose streams carry OpenAI-style chunks.
bool openai_stream_path(const std::string& path) {
  return path == "/v1/chat/completions" || path == "/v1/completions";
}

} // namespace

key_verdict verdict_for(const org_view& st, const std::string& hash,
                        long long now_s) {
  key_verdict v;
  v.org_id = st.org.id;
  auto id = st.ids.find(hash);
  if (id == st.ids.end()) {
    v.reason = "unknown API key";
    return v;
  }
  auto& e = st.keys.at(id->second);
  auto check = policy::check_key(e.rec.status == "revoked", e.expires_s,
                                 hash != e.rec.key_hash,
                                 e.rec.previous_valid_until, now_s);
  switch (check) {
    case policy::key_check::revoked:
      v.reason = "API key has been revoked";
      return v;
    case policy::key_check::expired:
      v.reason = "API key has expired";
      return v;
    case policy::key_check::rotated_out:
      v.reason = "API key was rotated and its overlap period has ended";
      return v;
    case policy::key_check::valid:
      break;
  }
  v.valid = true;
  v.key_id = e.rec.id;
  v.scopes = e.rec.scopes;
  v.app_id = e.rec.app_id;
  v.team_id = e.rec.team_id;
  v.rate_limit_rpm = e.rec.rate_limit_rpm;
  return v;
}

bool roll_month(org_state& st, long long now_s) {
  auto month = policy::month_of(now_s);
  if (month == st.month)
    return false;
  st.month = month;
  for (auto& [id, t] : st.teams)
    t.ledger = std::make_shared<team_ledger>(
      month, t.rec.monthly_spend_limit_micros
               ? *t.rec.monthly_spend_limit_micros
               : team_ledger::no_limit);
  lease_month_rolled(st);
  return true;
}

authorization rate_refusal(int rpm, std::int64_t retry_after_ms) {
  auto out = deny(errc::rate_limited,
                  "the key's limit of " + std::to_string(rpm)
                    + " requests per minute is reached");
  out.denial.retry_after_s = (retry_after_ms + 999) / 1000;
  return out;
}

authorization budget_refusal(long long now_s) {
  auto out = deny(errc::budget_exceeded, "the team's monthly budget is spent");
  out.denial.retry_after_s = policy::seconds_to_next_utc_month(now_s);
  return out;
}

authorization authorize(const org_view& st, const proxy_request& req,
                        bool rate_taken) {
  auto v = verdict_for(st, req.key_hash, req.now_s);
  if (!v.valid)
    return deny(errc::unauthorized, v.reason);
  std::optional<std::string> env;
  const app_state* app_st = nullptr;
  if (v.app_id) {
    auto app = st.apps.find(*v.app_id);
    if (app != st.apps.end()) {
      if (!app->second.is_active)
        return deny(errc::app_inactive, "the key's app is disabled");
      env = app->second.env;
      app_st = &app->second;
    }
  }
  auto plan = plan_of(st);
  if (req.stream && !policy::has_feature(plan, policy::feature::streaming))
    return deny(errc::plan_required, "streaming requires another plan");
  // The response cache, asked by the request (X-Gatehouse-Cache) or by the
  // key's app; nothing to decide when neither asks.
  bool cache_asked = false;
  int cache_ttl = 0;
  if (req.cache != 0 || (app_st && app_st->cache_ttl_s > 0)) {
    bool allowed = policy::has_feature(plan, policy::feature::caching);
    if (req.cache == 1 && !allowed)
      return deny(errc::plan_required,
                  "the response cache (X-Gatehouse-Cache: on) requires the "
                  "caching feature");
    cache_asked = req.cache != 0 || allowed;
    if (req.cache == 1 || (req.cache == 0 && allowed)) {
      int app_ttl = app_st ? app_st->cache_ttl_s : 0;
      cache_ttl = req.cache_ttl_s > 0 ? req.cache_ttl_s
                  : app_ttl > 0       ? app_ttl
                                      : default_cache_ttl_s;
    }
    // Only whole answers are cached.
    if (req.stream)
      cache_ttl = 0;
  }
  policy::selection_input in;
  in.header_provider = req.provider_header;
  in.model = req.model;
  // An alias (the app's first, then the org's) names the model to use
  // before anything else looks at it.
  const std::string* alias = nullptr;
  if (st.any_aliases) {
    alias = policy::resolve_alias(app_st ? app_st->aliases.get() : nullptr,
                                  st.aliases, req.model);
    if (alias)
      in.model = *alias;
  }
  in.path = req.path;
  in.auto_detection =
    policy::has_feature(plan, policy::feature::provider_auto_detection);
  for (auto& [name, p] : st.providers) {
    in.providers.push_back(name);
    if (p.rec.is_default)
      in.default_provider = name;
  }
  auto chosen = policy::select_provider(in);
  if (auto* p = std::get_if<policy::problem>(&chosen)) {
    authorization out;
    out.denial = *p;
    return out;
  }
  auto& sel = std::get<policy::selection>(chosen);
  if (!policy::scopes_allow(v.scopes, sel.provider, sel.model))
    return deny(errc::scope_denied,
                provider_allowed(v.scopes, sel.provider)
                  ? "key may not use model '" + sel.model + "'"
                  : "key may not use provider '" + sel.provider + "'");
  // A chat request to a provider of the other format is translated, which
  // the plan must allow; fallbacks it would have to translate are skipped.
  auto client_format = policy::client_format_of(req.path);
  bool may_translate =
    policy::has_feature(plan, policy::feature::format_translation);
  auto needs_translation = [&](const upstream_target& t) {
    return client_format
           && t.anthropic != (*client_format == policy::api_format::anthropic);
  };
  if (!may_translate
      && needs_translation(st.providers.at(sel.provider).target))
    return deny(errc::plan_required,
                "provider '" + sel.provider + "' speaks the "
                  + (client_format == policy::api_format::openai
                       ? "Anthropic"
                       : "OpenAI")
                  + " format; translating requires another plan");
  // A request authorized again after a cache miss was counted already.
  if (v.rate_limit_rpm && !rate_taken && !req.cache_missed
      && policy::has_feature(plan, policy::feature::per_key_rate_limits)) {
    auto r = st.rates.find(v.key_id);
    std::int64_t retry_ms = 0;
    if (r != st.rates.end()
        && r->second->remote.load(std::memory_order_relaxed)) {
      // In a cluster the org's home decides (actors/org_lease.cpp).
      auto out = rate_refusal(*v.rate_limit_rpm, 0);
      out.deferred = true;
      out.permit.key_id = v.key_id;
      return out;
    }
    if (r != st.rates.end()
        && !r->second->hit(*v.rate_limit_rpm, req.now_ms, retry_ms))
      return rate_refusal(*v.rate_limit_rpm, retry_ms);
  }
  std::int64_t reserve = 0;
  std::shared_ptr<team_ledger> ledger;
  // A request that may be answered from the cache reserves nothing yet:
  // a hit costs nothing, a miss is authorized again (cache_missed).
  bool budget_later = cache_ttl > 0 && !req.cache_missed;
  if (v.team_id && !budget_later
      && policy::has_feature(plan, policy::feature::budget_controls)) {
    auto t = st.teams.find(*v.team_id);
    if (t != st.teams.end()
        && t->second.ledger->limit.load() != team_ledger::no_limit) {
      reserve = policy::estimate_cost_micros(
        policy::find_price(st.prices, sel.model),
        static_cast<std::size_t>(req.prompt_chars), req.max_tokens);
      // Atomic: concurrent admissions cannot both take the last of it.
      if (!t->second.ledger->reserve(reserve)) {
        auto out = budget_refusal(req.now_s);
        // In a cluster the org actor may still find the budget.
        if (t->second.ledger->deferrable.load(std::memory_order_relaxed)) {
          out.deferred = true;
          out.permit.team_id = v.team_id;
          out.permit.reserved_micros = reserve;
        }
        return out;
      }
      ledger = t->second.ledger;
    }
  }
  authorization out;
  out.ok = true;
  auto& g = out.permit;
  auto& e = st.keys.at(v.key_id);
  g.org_id = st.org.id;
  g.key_id = v.key_id;
  g.key_prefix = e.rec.key_prefix;
  g.app_id = v.app_id;
  g.team_id = v.team_id;
  g.user_id = e.rec.user_id;
  g.scopes = v.scopes;
  auto& chosen_provider = st.providers.at(sel.provider);
  g.targets.push_back(chosen_provider.target);
  if (policy::has_feature(plan, policy::feature::provider_fallback))
    for (auto& name : chosen_provider.rec.fallback) {
      auto f = st.providers.find(name);
      if (f != st.providers.end() && provider_allowed(v.scopes, name)
          && (may_translate || !needs_translation(f->second.target)))
        g.targets.push_back(f->second.target);
    }
  g.model = sel.model;
  g.rewrite_model = sel.model_rewritten || alias != nullptr;
  if (alias)
    g.requested_model = req.model;
  g.cache_asked = cache_asked;
  g.cache_ttl_s = cache_ttl;
  g.inject_usage =
    req.stream && !req.client_wants_usage && openai_stream_path(req.path);
  g.log_bodies = log_bodies(st);
  g.env = env;
  g.reserved_micros = reserve;
  g.ledger = std::move(ledger);
  if (!st.guards.empty()) {
    auto gr = st.guards.find(v.key_id);
    if (gr != st.guards.end())
      g.guardrails = gr->second;
  }
  return out;
}

authorization key_targets(const org_view& st, const std::string& hash,
                          long long now_s) {
  auto v = verdict_for(st, hash, now_s);
  if (!v.valid)
    return deny(errc::unauthorized, v.reason);
  if (v.app_id) {
    auto app = st.apps.find(*v.app_id);
    if (app != st.apps.end() && !app->second.is_active)
      return deny(errc::app_inactive, "the key's app is disabled");
  }
  authorization out;
  out.ok = true;
  out.permit.org_id = st.org.id;
  out.permit.key_id = v.key_id;
  out.permit.scopes = v.scopes;
  for (auto& [name, p] : st.providers)
    if (provider_allowed(v.scopes, name))
      out.permit.targets.push_back(p.target);
  return out;
}

namespace {

/// Prices a finished exchange and derives the counters it moves.
log_entry price_and_count(const org_view& st,
                          storage::request_log_record log) {
  auto price = policy::find_price(st.prices, log.model);
  if (price)
    log.cost_micros =
      policy::cost_micros(*price, log.tokens_in, log.tokens_out);
  else
    log.unpriced = true;
  log_entry out;
  auto month = log.created_at.substr(0, 7);
  auto delta = [&](const char* type, const std::string& id) {
    storage::usage_delta d;
    d.org_id = log.org_id;
    d.scope_type = type;
    d.scope_id = id;
    d.month = month;
    d.requests = 1;
    d.tokens_in = log.tokens_in;
    d.tokens_out = log.tokens_out;
    d.cost_micros = log.cost_micros;
    out.deltas.push_back(std::move(d));
  };
  if (log.key_id) {
    delta("key", *log.key_id);
    out.key = storage::key_use{*log.key_id, log.org_id, log.created_at, 1};
  }
  if (log.app_id)
    delta("app", *log.app_id);
  if (log.team_id)
    delta("team", *log.team_id);
  out.log = std::move(log);
  return out;
}

} // namespace

policy::outcome<upstream_target>
make_target(const storage::provider_record& rec,
            const storage::secrets& secrets) {
  auto url = policy::parse_base_url(rec.base_url);
  if (auto* err = std::get_if<std::string>(&url))
    return policy::make_problem(errc::invalid_request,
                                "field 'base_url': " + *err);
  auto& u = std::get<policy::upstream_url>(url);
  upstream_target t;
  t.provider = rec.name;
  t.scheme = u.scheme;
  t.host = u.host;
  t.port = u.port;
  t.base_path = u.base_path;
  t.passthrough = rec.auth_mode == "passthrough";
  t.auth_header = rec.auth_header;
  auto format = rec.format ? policy::parse_api_format(*rec.format)
                           : std::nullopt;
  t.anthropic = format.value_or(policy::default_provider_format(
                  rec.name, rec.base_url))
                == policy::api_format::anthropic;
  if (!t.passthrough && rec.api_key_encrypted) {
    auto key = storage::open_secret(secrets, *rec.api_key_encrypted,
                                    provider_key_aad(rec.id));
    if (!key)
      return policy::make_problem(errc::internal_error,
                                  "provider key cannot be decrypted");
    t.auth_value = rec.auth_scheme.empty() ? *key
                                           : rec.auth_scheme + " " + *key;
  }
  return t;
}

namespace {

/// Hands a settled request to the org's webhook events, with its team's
/// spend (this node's ledger) and cap.
void announce_settled(const org_view& st,
                      const storage::request_log_record& log) {
  std::int64_t spent = 0;
  std::int64_t cap = 0;
  if (log.team_id) {
    auto t = st.teams.find(*log.team_id);
    if (t != st.teams.end() && t->second.rec.monthly_spend_limit_micros) {
      cap = *t->second.rec.monthly_spend_limit_micros;
      spent = t->second.ledger->spent.load(std::memory_order_relaxed);
    }
  }
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  st.webhooks->settled(log, spent, cap, now_ms);
}

} // namespace

log_entry settle_exchange(const org_view& st, settlement done,
                          metrics_registry* metrics) {
  auto entry = price_and_count(st, std::move(done.log));
  if (done.ledger)
    done.ledger->settle(done.reserved_micros, entry.log.cost_micros);
  if (st.webhooks && st.webhooks->active.load(std::memory_order_relaxed))
    announce_settled(st, entry.log);
  if (metrics)
    metrics->record_exchange(entry.log);
  return entry;
}

bool rates_at_rest(const org_view& st, std::int64_t now_us) {
  for (auto& [id, r] : st.rates) {
    auto k = st.keys.find(id);
    if (k != st.keys.end() && k->second.rec.rate_limit_rpm
        && !r->at_rest(*k->second.rec.rate_limit_rpm, now_us / 1000))
      return false;
  }
  return true;
}

namespace {

bool no_rules(const std::string& rules_json) {
  return rules_json.empty() || rules_json == "[]";
}

/// One level's stored rules; none when the text does not read back (it
/// was validated when written).
policy::guardrail_rules stored_rules(const std::string& rules_json) {
  if (no_rules(rules_json))
    return {};
  auto j = nlohmann::json::parse(rules_json, nullptr, false);
  auto rules = policy::parse_guardrail_rules(j, "guardrails");
  return rules ? std::move(rules).value() : policy::guardrail_rules{};
}

std::shared_ptr<const policy::compiled_guardrails>
compile_effective(const std::string& org, const std::string& app,
                  const std::string& key) {
  auto rules = policy::effective_guardrail_rules(
    stored_rules(org), stored_rules(app), stored_rules(key));
  if (rules.empty())
    return nullptr;
  auto compiled = policy::compiled_guardrails::compile(rules);
  if (!compiled)
    return nullptr;
  return std::make_shared<const policy::compiled_guardrails>(
    std::move(compiled).value());
}

} // namespace

void rebuild_guardrails(org_state& st) {
  static const std::string none;
  auto& cache = st.guard_cache;
  bool any = !no_rules(st.org.guardrails_json);
  std::map<std::string, std::string> app_rules;
  for (auto& [id, a] : st.app_recs)
    if (!no_rules(a.guardrails_json)) {
      app_rules.emplace(id, a.guardrails_json);
      any = true;
    }
  for (auto i = st.keys.begin(); !any && i != st.keys.end(); ++i)
    any = !no_rules(i->second.rec.guardrails_json);
  if (!any) {
    st.guards.clear();
    cache = guardrail_cache{};
    return;
  }
  // The upper levels changed: nothing compiled before still holds.
  if (cache.org_rules != st.org.guardrails_json || cache.app_rules != app_rules)
    cache = guardrail_cache{st.org.guardrails_json, std::move(app_rules), {}};
  decltype(cache.compiled) compiled;
  st.guards.clear();
  for (auto& [id, k] : st.keys) {
    if (k.rec.status == "revoked")
      continue;
    const std::string* app = &none;
    if (k.rec.app_id) {
      auto a = cache.app_rules.find(*k.rec.app_id);
      if (a != cache.app_rules.end())
        app = &a->second;
    }
    if (no_rules(st.org.guardrails_json) && no_rules(*app)
        && no_rules(k.rec.guardrails_json))
      continue;
    auto combo = k.rec.app_id.value_or("") + '\x1f' + k.rec.guardrails_json;
    auto c = compiled.find(combo);
    if (c == compiled.end()) {
      auto old = cache.compiled.find(combo);
      auto rules = old != cache.compiled.end()
                     ? old->second
                     : compile_effective(st.org.guardrails_json, *app,
                                         k.rec.guardrails_json);
      c = compiled.emplace(std::move(combo), std::move(rules)).first;
    }
    if (c->second)
      st.guards.emplace(id, c->second);
  }
  cache.compiled = std::move(compiled);
}

void index_aliases(org_state& st) {
  st.aliases = policy::read_aliases(st.org.aliases_json);
  st.any_aliases = !st.aliases.empty();
  for (auto& [id, a] : st.app_recs) {
    auto s = st.apps.find(id);
    if (s == st.apps.end())
      continue;
    s->second.cache_ttl_s = app_cache_ttl(a.cache_json);
    auto table = policy::read_aliases(a.aliases_json);
    if (table.empty()) {
      s->second.aliases.reset();
      continue;
    }
    s->second.aliases
      = std::make_shared<const policy::alias_table>(std::move(table));
    st.any_aliases = true;
  }
}

void publish(const org_state& st) {
  // Keys' rate limits are decided by the org's home.
  bool remote = !is_home(st);
  for (auto& [id, r] : st.rates)
    r->remote.store(remote, std::memory_order_relaxed);
  st.links.dir->publish(st.org.id, std::make_shared<const org_view>(
                                     static_cast<const org_view&>(st)));
}

} // namespace gatehouse::actors
