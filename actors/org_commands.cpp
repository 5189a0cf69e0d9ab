#include "actors/org_commands.hpp"

#include <nlohmann/json.hpp>

#include "actors/audit.hpp"
#include "actors/views.hpp"
#include "policy/ids.hpp"
#include "policy/key_validity.hpp"
#include "policy/plan.hpp"
#include "policy/pricing.hpp"
#include "policy/time.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

using policy::errc;

template <class Change>
using answer = policy::outcome<decision<Change>>;

storage::audit_record audit(const org_view& st, const audit_ctx& who,
                            std::string action, std::string target_type,
                            std::string target_id, nlohmann::json before,
                            nlohmann::json after) {
  return audit_entry(st.org.id, who, std::move(action), std::move(target_type),
                     std::move(target_id), before, after);
}

policy::problem refuse(errc code, std::string message) {
  return policy::make_problem(code, std::move(message));
}

policy::plan_limits org_limits(const org_view& st) {
  auto plan = policy::parse_plan(st.org.plan).value_or(policy::plan::free);
  return policy::limits_for(plan, std::nullopt, false);
}

int active_keys(const org_view& st, long long now_s) {
  int n = 0;
  for (auto& [id, e] : st.keys)
    if (e.rec.status == "active" && !(e.expires_s && now_s >= *e.expires_s))
      ++n;
  return n;
}

nlohmann::json team_audit(const storage::team_record& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"description", t.description},
          {"monthly_spend_limit_micros",
           t.monthly_spend_limit_micros
             ? nlohmann::json(*t.monthly_spend_limit_micros)
             : nlohmann::json(nullptr)}};
}

nlohmann::json app_audit(const storage::app_record& a) {
  return {{"id", a.id},       {"name", a.name},
          {"slug", a.slug},   {"project_type", a.project_type},
          {"env", a.env},     {"is_active", a.is_active},
          {"description", a.description},
          {"guardrails", guardrails_view(a.guardrails_json)},
          {"aliases", aliases_view(a.aliases_json)},
          {"cache", cache_view(a.cache_json)}};
}

nlohmann::json prices_audit(const std::vector<storage::price_override>& xs) {
  nlohmann::json out = {{"models", nlohmann::json::object()}};
  for (auto& p : xs)
    out["models"][p.model] = {
      {"input_per_mtok", policy::micros_to_usd(p.input_micros_per_mtok)},
      {"output_per_mtok", policy::micros_to_usd(p.output_micros_per_mtok)}};
  return out;
}

template <class Change>
decision<Change> accept(storage_write w, storage::audit_record a, Change c) {
  return decision<Change>{std::move(w), std::move(a), std::move(c)};
}

} // namespace

void perform(storage::store& s, const storage_write& w,
             const storage::audit_record& a) {
  struct visitor {
    storage::store& s;
    const storage::audit_record& a;
    void operator()(const write::insert_key& x) {
      s.insert_key(x.rec, a);
    }
    void operator()(const write::revoke_key& x) {
      s.revoke_key(x.org_id, x.id, x.now, a);
    }
    void operator()(const write::rotate_key& x) {
      s.rotate_key(x.rec.org_id, x.rec.id, x.rec.key_hash, x.rec.key_prefix,
                   x.rec.previous_valid_until.value_or(0), a);
    }
    void operator()(const write::set_plan& x) {
      s.set_org_plan(x.org_id, x.plan, a);
    }
    void operator()(const write::update_org& x) {
      s.update_org(x.org, a);
    }
    void operator()(const write::insert_provider& x) {
      s.insert_provider(x.rec, a);
    }
    void operator()(const write::update_provider& x) {
      s.update_provider(x.rec, a);
    }
    void operator()(const write::delete_provider& x) {
      s.delete_provider(x.org_id, x.name, a);
    }
    void operator()(const write::set_default_provider& x) {
      s.set_default_provider(x.org_id, x.name, a);
    }
    void operator()(const write::replace_prices& x) {
      s.replace_price_overrides(x.org_id, x.prices, a);
    }
    void operator()(const write::insert_team& x) {
      s.insert_team(x.rec, a);
    }
    void operator()(const write::update_team& x) {
      if (!s.update_team(x.rec, a))
        throw storage::storage_error("team vanished");
    }
    void operator()(const write::delete_team& x) {
      s.delete_team(x.org_id, x.id, a);
    }
    void operator()(const write::insert_app& x) {
      s.insert_app(x.rec, a);
    }
    void operator()(const write::update_app& x) {
      if (!s.update_app(x.rec, a))
        throw storage::storage_error("app vanished");
    }
    void operator()(const write::delete_app& x) {
      s.delete_app(x.org_id, x.id, a);
    }
    void operator()(const write::delete_membership& x) {
      s.delete_membership(x.org_id, x.user_id, x.now, a);
    }
  };
  std::visit(visitor{s, a}, w);
}

answer<change::key_put> decide(const org_view& st, const cmd::create_key& c,
                               const audit_ctx& who) {
  auto max = org_limits(st).max_api_keys;
  if (!policy::key_fits(active_keys(st, who.now_s), max))
    return refuse(errc::limit_exceeded, "the " + st.org.plan + " plan allows "
                                          + std::to_string(max)
                                          + " active API keys");
  auto rec = c.rec;
  rec.org_id = st.org.id;
  auto a = audit(st, who, "key.create", "api_key", rec.id, nullptr,
                 key_view(rec, who.now_s));
  return accept(write::insert_key{rec}, std::move(a),
                change::key_put{rec, std::nullopt, false});
}

answer<change::key_put> decide(const org_view& st, const cmd::revoke_key& c,
                               const audit_ctx& who) {
  auto i = st.keys.find(c.id);
  if (i == st.keys.end())
    return refuse(errc::not_found, "no API key with id '" + c.id + "'");
  if (i->second.rec.status == "revoked")
    return decision<change::key_put>{std::nullopt, {},
                                     change::key_put{i->second.rec}};
  auto after = i->second.rec;
  after.status = "revoked";
  after.revoked_at = policy::rfc3339(who.now_s);
  auto a = audit(st, who, "key.revoke", "api_key", c.id,
                 key_view(i->second.rec, who.now_s),
                 key_view(after, who.now_s));
  return accept(write::revoke_key{after.org_id, after.id, *after.revoked_at},
                std::move(a), change::key_put{after, std::nullopt, true});
}

answer<change::key_put> decide(const org_view& st, const cmd::rotate_key& c,
                               const audit_ctx& who) {
  auto i = st.keys.find(c.id);
  if (i == st.keys.end() || i->second.rec.status == "revoked")
    return refuse(errc::not_found, "no API key with id '" + c.id + "'");
  auto& before = i->second.rec;
  auto after = before;
  after.previous_key_hash = before.key_hash;
  after.previous_valid_until = who.now_s + c.overlap_hours * 3600LL;
  after.key_hash = c.new_hash;
  after.key_prefix = c.new_prefix;
  auto a = audit(st, who, "key.rotate", "api_key", c.id,
                 key_view(before, who.now_s), key_view(after, who.now_s));
  return accept(write::rotate_key{after}, std::move(a),
                change::key_put{after, before.previous_key_hash, false});
}

answer<change::org_put> decide(const org_view& st, const cmd::set_plan& c,
                               const audit_ctx& who) {
  if (!policy::parse_plan(c.plan))
    return refuse(errc::invalid_request,
                  "field 'plan': must be 'free' or 'enterprise'");
  auto after = st.org;
  after.plan = c.plan;
  auto a = audit(st, who, "org.plan", "org", st.org.id, org_brief(st.org),
                 org_brief(after));
  return accept(write::set_plan{after.id, after.plan}, std::move(a),
                change::org_put{after});
}

answer<change::org_put> decide(const org_view& st, const cmd::update_org& c,
                               const audit_ctx& who) {
  auto after = st.org;
  if (c.change.name)
    after.name = *c.change.name;
  if (c.change.settings_json)
    after.settings_json = *c.change.settings_json;
  if (c.change.guardrails_json) {
    // The org's rules are a setting of their own, audited as such.
    after.guardrails_json = *c.change.guardrails_json;
    auto a = audit(st, who, "guardrails.update", "org", st.org.id,
                   {{"rules", guardrails_view(st.org.guardrails_json)}},
                   {{"rules", guardrails_view(after.guardrails_json)}});
    return accept(write::update_org{after}, std::move(a),
                  change::org_put{after});
  }
  if (c.change.aliases_json) {
    after.aliases_json = *c.change.aliases_json;
    auto a = audit(st, who, "aliases.update", "org", st.org.id,
                   {{"aliases", aliases_view(st.org.aliases_json)}},
                   {{"aliases", aliases_view(after.aliases_json)}});
    return accept(write::update_org{after}, std::move(a),
                  change::org_put{after});
  }
  auto a = audit(st, who, "org.update", "org", st.org.id, org_full(st.org),
                 org_full(after));
  return accept(write::update_org{after}, std::move(a),
                change::org_put{after});
}

answer<change::provider_put> decide(const org_view& st,
                                    const cmd::put_provider& c,
                                    const audit_ctx& who,
                                    const storage::secrets& secrets) {
  auto rec = c.rec;
  auto existing = st.providers.find(rec.name);
  if (c.is_new && existing != st.providers.end())
    return refuse(errc::conflict, "field 'name': a provider named '" + rec.name
                                    + "' exists");
  if (!c.is_new && existing == st.providers.end())
    return refuse(errc::not_found, "no provider named '" + rec.name + "'");
  auto max = org_limits(st).max_providers;
  if (c.is_new && max && static_cast<int>(st.providers.size()) >= *max)
    return refuse(errc::limit_exceeded, "the " + st.org.plan + " plan allows "
                                          + std::to_string(*max)
                                          + " providers");
  for (auto& f : rec.fallback)
    if (f == rec.name || !st.providers.count(f))
      return refuse(errc::invalid_request,
                    "field 'fallback': '" + f
                      + "' is not another provider of this organization");
  rec.org_id = st.org.id;
  rec.is_default =
    c.is_new ? st.providers.empty() : existing->second.rec.is_default;
  auto target = make_target(rec, secrets);
  if (!target)
    return target.error();
  auto before = c.is_new ? nlohmann::json(nullptr)
                         : provider_view(existing->second.rec);
  auto a = audit(st, who, c.is_new ? "provider.create" : "provider.update",
                 "provider", rec.id, before, provider_view(rec));
  storage_write w = c.is_new ? storage_write{write::insert_provider{rec}}
                             : storage_write{write::update_provider{rec}};
  return accept(std::move(w), std::move(a),
                change::provider_put{rec, target.value()});
}

answer<change::provider_deleted> decide(const org_view& st,
                                        const cmd::delete_provider& c,
                                        const audit_ctx& who) {
  auto i = st.providers.find(c.name);
  if (i == st.providers.end())
    return refuse(errc::not_found, "no provider named '" + c.name + "'");
  auto& rec = i->second.rec;
  auto a = audit(st, who, "provider.delete", "provider", rec.id,
                 provider_view(rec), nullptr);
  return accept(write::delete_provider{rec.org_id, rec.name}, std::move(a),
                change::provider_deleted{rec});
}

answer<change::default_set> decide(const org_view& st,
                                   const cmd::default_provider& c,
                                   const audit_ctx& who) {
  auto i = st.providers.find(c.name);
  if (i == st.providers.end())
    return refuse(errc::not_found, "no provider named '" + c.name + "'");
  auto a = audit(st, who, "provider.default", "provider", i->second.rec.id,
                 nullptr, nlohmann::json{{"default_provider", c.name}});
  return accept(write::set_default_provider{st.org.id, c.name}, std::move(a),
                change::default_set{c.name});
}

answer<change::prices_set> decide(const org_view& st,
                                  const cmd::set_pricing& c,
                                  const audit_ctx& who) {
  std::vector<storage::price_override> old;
  for (auto& [model, p] : st.prices)
    old.push_back({model, p.input_micros_per_mtok, p.output_micros_per_mtok});
  auto a = audit(st, who, "pricing.update", "org", st.org.id,
                 prices_audit(old), prices_audit(c.prices));
  return accept(write::replace_prices{st.org.id, c.prices}, std::move(a),
                change::prices_set{c.prices});
}

answer<change::team_put> decide(const org_view& st, const cmd::put_team& c,
                                const audit_ctx& who) {
  auto rec = c.rec;
  rec.org_id = st.org.id;
  auto old = st.teams.find(rec.id);
  auto before = c.is_new || old == st.teams.end()
                  ? nlohmann::json(nullptr)
                  : team_audit(old->second.rec);
  auto a = audit(st, who, c.is_new ? "team.create" : "team.update", "team",
                 rec.id, before, team_audit(rec));
  storage_write w = c.is_new ? storage_write{write::insert_team{rec}}
                             : storage_write{write::update_team{rec}};
  return accept(std::move(w), std::move(a), change::team_put{rec});
}

answer<change::team_deleted> decide(const org_view& st,
                                    const cmd::delete_team& c,
                                    const audit_ctx& who) {
  auto old = st.teams.find(c.id);
  auto a = audit(st, who, "team.delete", "team", c.id,
                 old == st.teams.end() ? nlohmann::json(nullptr)
                                       : team_audit(old->second.rec),
                 nullptr);
  return accept(write::delete_team{st.org.id, c.id}, std::move(a),
                change::team_deleted{c.id});
}

answer<change::app_put>
decide(const org_view& st,
       const std::map<std::string, storage::app_record>& app_recs,
       const cmd::put_app& c, const audit_ctx& who) {
  auto rec = c.rec;
  rec.org_id = st.org.id;
  auto old = app_recs.find(rec.id);
  auto before = c.is_new || old == app_recs.end() ? nlohmann::json(nullptr)
                                                  : app_audit(old->second);
  auto a = audit(st, who, c.is_new ? "app.create" : "app.update", "app",
                 rec.id, before, app_audit(rec));
  storage_write w = c.is_new ? storage_write{write::insert_app{rec}}
                             : storage_write{write::update_app{rec}};
  return accept(std::move(w), std::move(a), change::app_put{rec});
}

answer<change::app_deleted>
decide(const org_view& st,
       const std::map<std::string, storage::app_record>& app_recs,
       const cmd::delete_app& c, const audit_ctx& who) {
  auto old = app_recs.find(c.id);
  auto a = audit(st, who, "app.delete", "app", c.id,
                 old == app_recs.end() ? nlohmann::json(nullptr)
                                       : app_audit(old->second),
                 nullptr);
  return accept(write::delete_app{st.org.id, c.id}, std::move(a),
                change::app_deleted{c.id});
}

answer<change::member_dropped> decide(const org_view& st,
                                      const cmd::drop_member& c,
                                      const audit_ctx& who) {
  auto a = audit(st, who, "member.delete", "user", c.user_id, nullptr,
                 nullptr);
  auto now = policy::rfc3339(who.now_s);
  return accept(write::delete_membership{st.org.id, c.user_id, now},
                std::move(a), change::member_dropped{c.user_id, now});
}

} // namespace gatehouse::actors
