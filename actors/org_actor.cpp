#include "actors/org_actor.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "actors/directory.hpp"
#include "actors/views.hpp"
#include "policy/ids.hpp"
#include "policy/key_validity.hpp"
#include "policy/plan.hpp"
#include "policy/time.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

using state_ptr = org_actor::stateful_pointer<org_state>;
using policy::errc;

key_entry make_entry(storage::api_key_record rec) {
  key_entry e{std::move(rec), std::nullopt};
  if (e.rec.expires_at)
    e.expires_s = policy::parse_rfc3339(*e.rec.expires_at);
  return e;
}

void index_key(org_state& st, const storage::api_key_record& rec) {
  st.ids[rec.key_hash] = rec.id;
  if (rec.previous_key_hash)
    st.ids[*rec.previous_key_hash] = rec.id;
}

int active_keys(const org_state& st, long long now_s) {
  int n = 0;
  for (auto& [id, e] : st.keys)
    if (e.rec.status == "active" && !(e.expires_s && now_s >= *e.expires_s))
      ++n;
  return n;
}

storage::audit_record audit(const org_state& st, const audit_ctx& who,
                            std::string action, std::string target_type,
                            std::string target_id, nlohmann::json before,
                            nlohmann::json after) {
  storage::audit_record a;
  a.id = policy::uuid_v4();
  a.org_id = st.org.id;
  a.actor_type = who.actor_type;
  a.actor_id = who.actor_id;
  a.action = std::move(action);
  a.target_type = std::move(target_type);
  a.target_id = std::move(target_id);
  if (!before.is_null())
    a.before_json = before.dump();
  if (!after.is_null())
    a.after_json = after.dump();
  a.ip = who.ip;
  // Milliseconds keep entries of one second in the order they happened.
  a.created_at = who.now_ms ? policy::rfc3339_ms(who.now_ms)
                            : policy::rfc3339(who.now_s);
  return a;
}

/// Runs `job` on a storage worker and, once it committed, `done` inside the
/// actor; the actor handles no other message meanwhile, so the state it
/// validated against cannot change under it.
template <class T, class Done>
caf::typed_response_promise<T> write_then(state_ptr self, db_job job,
                                          Done done) {
  auto rp = self->template make_response_promise<T>();
  self->request(self->state.links.db, caf::infinite, std::move(job))
    .await([=](bool) mutable {
             ++self->state.version;
             auto result = done();
             publish(self->state);
             rp.deliver(std::move(result));
           },
           [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

std::int64_t limit_of(const storage::team_record& t) {
  return t.monthly_spend_limit_micros ? *t.monthly_spend_limit_micros
                                      : team_ledger::no_limit;
}

std::shared_ptr<team_ledger> new_ledger(const std::string& month,
                                        const storage::team_record& t) {
  return std::make_shared<team_ledger>(month, limit_of(t));
}

/// Authorizes from the actor's own state, first moving to the request's
/// month if it began.
authorization authorize_now(org_state& st, const proxy_request& req) {
  if (roll_month(st, req.now_s))
    publish(st);
  return authorize(st, req);
}

/// Counts a refusal in the metrics; passes the answer on.
authorization counted(org_state& st, authorization a) {
  if (!a.ok && st.links.metrics)
    st.links.metrics->record_denial(st.org.id, a.denial.code);
  return a;
}

/// Takes a key's hashes out of the directory.
void forget_key(org_state& st, const storage::api_key_record& k) {
  st.links.dir->remove_key(k.key_hash);
  if (k.previous_key_hash)
    st.links.dir->remove_key(*k.previous_key_hash);
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
          {"description", a.description}};
}

provider_entry entry_for(const org_state& st, storage::provider_record rec) {
  auto target = make_target(rec, *st.links.secrets);
  // A provider whose key cannot be read stays listed but cannot be reached.
  provider_entry e{std::move(rec), target ? target.value() : upstream_target{}};
  return e;
}

} // namespace

org_actor::behavior_type org_actor_impl(state_ptr self, org_snapshot snap,
                                        org_links links) {
  auto& st = self->state;
  st.org = std::move(snap.org);
  st.links = std::move(links);
  for (auto& p : snap.providers) {
    auto name = p.name;
    st.providers.emplace(std::move(name), entry_for(st, std::move(p)));
  }
  for (auto& p : snap.prices)
    st.prices[p.model] = policy::model_price{p.input_micros_per_mtok,
                                             p.output_micros_per_mtok};
  st.month = snap.month;
  for (auto& t : snap.teams)
    st.teams[t.id] = team_entry{t, new_ledger(st.month, t)};
  for (auto& a : snap.apps) {
    st.apps[a.id] = app_state{a.is_active, a.env};
    st.app_recs[a.id] = a;
  }
  for (auto& u : snap.month_usage)
    if (u.scope_type == "team" && st.teams.count(u.scope_id)) {
      auto& l = *st.teams[u.scope_id].ledger;
      l.committed = u.cost_micros;
      l.spent = u.cost_micros;
      l.requests = u.requests;
    }
  for (auto& k : snap.keys) {
    index_key(st, k);
    auto id = k.id;
    st.keys.emplace(std::move(id), make_entry(std::move(k)));
  }
  for (auto& [id, k] : st.keys)
    if (k.rec.rate_limit_rpm)
      st.rates[id] = std::make_shared<key_rate>();
  publish(st);
  return {
    [=](authkey_atom, const std::string& hash, int64_t now_s) {
      return verdict_for(self->state, hash, now_s);
    },
    [=](create_key_atom, storage::api_key_record rec, const audit_ctx& who)
      -> caf::result<storage::api_key_record> {
      auto& st = self->state;
      auto plan = policy::parse_plan(st.org.plan).value_or(policy::plan::free);
      auto max = policy::limits_for(plan, std::nullopt, false).max_api_keys;
      if (!policy::key_fits(active_keys(st, who.now_s), max))
        return to_error(policy::make_problem(
          errc::limit_exceeded, "the " + st.org.plan + " plan allows "
                                  + std::to_string(max) + " active API keys"));
      rec.org_id = st.org.id;
      auto entry = audit(st, who, "key.create", "api_key", rec.id, nullptr,
                         key_view(rec, who.now_s));
      return write_then<storage::api_key_record>(
        self, db_job{[rec, entry](storage::store& s) { s.insert_key(rec, entry); }},
        [self, rec] {
          auto& st = self->state;
          index_key(st, rec);
          st.keys[rec.id] = make_entry(rec);
          if (rec.rate_limit_rpm)
            st.rates[rec.id] = std::make_shared<key_rate>();
          st.links.dir->add_key(rec.key_hash, st.org.id);
          return rec;
        });
    },
    [=](revoke_key_atom, const std::string& id, const audit_ctx& who)
      -> caf::result<storage::api_key_record> {
      auto& st = self->state;
      auto i = st.keys.find(id);
      if (i == st.keys.end())
        return to_error(policy::make_problem(errc::not_found,
                                             "no API key with id '" + id + "'"));
      if (i->second.rec.status == "revoked")
        return i->second.rec;
      auto after = i->second.rec;
      after.status = "revoked";
      after.revoked_at = policy::rfc3339(who.now_s);
      auto entry = audit(st, who, "key.revoke", "api_key", id,
                         key_view(i->second.rec, who.now_s),
                         key_view(after, who.now_s));
      auto now = *after.revoked_at;
      return write_then<storage::api_key_record>(
        self,
        db_job{[after, entry, now](storage::store& s) {
          s.revoke_key(after.org_id, after.id, now, entry);
        }},
        [self, after] {
          auto& st = self->state;
          st.keys[after.id] = make_entry(after);
          // Revocation takes effect on the next request: the hashes leave
          // the directory too.
          st.links.dir->remove_key(after.key_hash);
          if (after.previous_key_hash)
            st.links.dir->remove_key(*after.previous_key_hash);
          return after;
        });
    },
    [=](rotate_key_atom, const std::string& id, const std::string& new_hash,
        const std::string& new_prefix, int32_t overlap_hours,
        const audit_ctx& who) -> caf::result<storage::api_key_record> {
      auto& st = self->state;
      auto i = st.keys.find(id);
      if (i == st.keys.end() || i->second.rec.status == "revoked")
        return to_error(policy::make_problem(errc::not_found,
                                             "no API key with id '" + id + "'"));
      auto before = i->second.rec;
      auto after = before;
      after.previous_key_hash = before.key_hash;
      after.previous_valid_until = who.now_s + overlap_hours * 3600LL;
      after.key_hash = new_hash;
      after.key_prefix = new_prefix;
      auto entry = audit(st, who, "key.rotate", "api_key", id,
                         key_view(before, who.now_s),
                         key_view(after, who.now_s));
      return write_then<storage::api_key_record>(
        self,
        db_job{[after, entry](storage::store& s) {
          s.rotate_key(after.org_id, after.id, after.key_hash,
                       after.key_prefix, *after.previous_valid_until, entry);
        }},
        [self, before, after] {
          auto& st = self->state;
          // A hash two rotations old is dropped for good.
          if (before.previous_key_hash) {
            st.ids.erase(*before.previous_key_hash);
            st.links.dir->remove_key(*before.previous_key_hash);
          }
          index_key(st, after);
          st.keys[after.id] = make_entry(after);
          st.links.dir->add_key(after.key_hash, st.org.id);
          return after;
        });
    },
    [=](set_plan_atom, const std::string& plan, const audit_ctx& who)
      -> caf::result<storage::org_record> {
      auto& st = self->state;
      if (!policy::parse_plan(plan))
        return to_error(policy::make_problem(
          errc::invalid_request, "field 'plan': must be 'free' or 'enterprise'"));
      auto after = st.org;
      after.plan = plan;
      auto entry = audit(st, who, "org.plan", "org", st.org.id,
                         org_brief(st.org), org_brief(after));
      return write_then<storage::org_record>(
        self,
        db_job{[after, entry](storage::store& s) {
          s.set_org_plan(after.id, after.plan, entry);
        }},
        [self, after] {
          self->state.org = after;
          return after;
        });
    },
    [=](update_org_atom, const org_update& change, const audit_ctx& who)
      -> caf::result<storage::org_record> {
      auto& st = self->state;
      auto after = st.org;
      if (change.name)
        after.name = *change.name;
      if (change.settings_json)
        after.settings_json = *change.settings_json;
      auto entry = audit(st, who, "org.update", "org", st.org.id,
                         org_full(st.org), org_full(after));
      return write_then<storage::org_record>(
        self,
        db_job{[after, entry](storage::store& s) { s.update_org(after, entry); }},
        [self, after] {
          self->state.org = after;
          return after;
        });
    },
    [=](authorize_atom, const proxy_request& req) {
      return counted(self->state, authorize_now(self->state, req));
    },
    [=](authorize_atom, const proxy_request& req, const auth_reply& reply) {
      reply.fn(counted(self->state, authorize_now(self->state, req)));
    },
    [=](targets_atom, const std::string& hash, int64_t now_s) {
      return key_targets(self->state, hash, now_s);
    },
    [=](targets_atom, const std::string& hash, int64_t now_s,
        const auth_reply& reply) {
      reply.fn(key_targets(self->state, hash, now_s));
    },
    [=](settle_atom, settlement& done) {
      auto& st = self->state;
      self->send(st.links.writer, log_atom_v,
                 settle_exchange(st, std::move(done), st.links.metrics.get()));
    },
    [=](put_team_atom, storage::team_record rec, bool is_new,
        const audit_ctx& who) -> caf::result<storage::team_record> {
      auto& st = self->state;
      rec.org_id = st.org.id;
      auto old = st.teams.find(rec.id);
      auto before = is_new || old == st.teams.end()
                      ? nlohmann::json(nullptr)
                      : team_audit(old->second.rec);
      auto entry = audit(st, who, is_new ? "team.create" : "team.update",
                         "team", rec.id, before, team_audit(rec));
      return write_then<storage::team_record>(
        self,
        db_job{[rec, entry, is_new](storage::store& s) {
          if (is_new)
            s.insert_team(rec, entry);
          else if (!s.update_team(rec, entry))
            throw storage::storage_error("team vanished");
        }},
        [self, rec] {
          auto& st = self->state;
          auto t = st.teams.find(rec.id);
          if (t == st.teams.end()) {
            st.teams[rec.id] = team_entry{rec, new_ledger(st.month, rec)};
          } else {
            t->second.rec = rec;
            t->second.ledger->limit = limit_of(rec);
          }
          return rec;
        });
    },
    [=](del_team_atom, const std::string& id, const audit_ctx& who)
      -> caf::result<bool> {
      auto& st = self->state;
      auto old = st.teams.find(id);
      auto entry = audit(st, who, "team.delete", "team", id,
                         old == st.teams.end() ? nlohmann::json(nullptr)
                                               : team_audit(old->second.rec),
                         nullptr);
      auto org_id = st.org.id;
      return write_then<bool>(
        self,
        db_job{[org_id, id, entry](storage::store& s) {
          s.delete_team(org_id, id, entry);
        }},
        [self, id] {
          auto& st = self->state;
          st.teams.erase(id);
          for (auto& [kid, k] : st.keys)
            if (k.rec.team_id == id)
              k.rec.team_id.reset();
          return true;
        });
    },
    [=](team_usage_atom, int64_t now_s) {
      auto& st = self->state;
      if (roll_month(st, now_s))
        publish(st);
      std::vector<team_usage> out;
      for (auto& [id, t] : st.teams)
        out.push_back(team_usage{id, t.ledger->spent, t.ledger->requests,
                                 t.ledger->committed - t.ledger->spent});
      return out;
    },
    [=](put_app_atom, storage::app_record rec, bool is_new,
        const audit_ctx& who) -> caf::result<storage::app_record> {
      auto& st = self->state;
      rec.org_id = st.org.id;
      auto old = st.app_recs.find(rec.id);
      auto before = is_new || old == st.app_recs.end()
                      ? nlohmann::json(nullptr)
                      : app_audit(old->second);
      auto entry = audit(st, who, is_new ? "app.create" : "app.update", "app",
                         rec.id, before, app_audit(rec));
      return write_then<storage::app_record>(
        self,
        db_job{[rec, entry, is_new](storage::store& s) {
          if (is_new)
            s.insert_app(rec, entry);
          else if (!s.update_app(rec, entry))
            throw storage::storage_error("app vanished");
        }},
        [self, rec] {
          self->state.apps[rec.id] = app_state{rec.is_active, rec.env};
          self->state.app_recs[rec.id] = rec;
          return rec;
        });
    },
    [=](del_app_atom, const std::string& id, const audit_ctx& who)
      -> caf::result<bool> {
      auto& st = self->state;
      auto old = st.app_recs.find(id);
      auto entry = audit(st, who, "app.delete", "app", id,
                         old == st.app_recs.end() ? nlohmann::json(nullptr)
                                                  : app_audit(old->second),
                         nullptr);
      auto org_id = st.org.id;
      return write_then<bool>(
        self,
        db_job{[org_id, id, entry](storage::store& s) {
          s.delete_app(org_id, id, entry);
        }},
        [self, id] {
          auto& st = self->state;
          st.apps.erase(id);
          st.app_recs.erase(id);
          // The app's keys went with it.
          for (auto i = st.keys.begin(); i != st.keys.end();) {
            if (i->second.rec.app_id == id) {
              forget_key(st, i->second.rec);
              i = st.keys.erase(i);
            } else {
              ++i;
            }
          }
          return true;
        });
    },
    [=](drop_member_atom, const std::string& user_id, const audit_ctx& who)
      -> caf::result<bool> {
      auto& st = self->state;
      auto entry = audit(st, who, "member.delete", "user", user_id, nullptr,
                         nullptr);
      auto org_id = st.org.id;
      auto now = policy::rfc3339(who.now_s);
      return write_then<bool>(
        self,
        db_job{[org_id, user_id, now, entry](storage::store& s) {
          s.delete_membership(org_id, user_id, now, entry);
        }},
        [self, user_id, now] {
          // The member's keys were revoked with the membership.
          for (auto& [kid, k] : self->state.keys)
            if (k.rec.user_id == user_id && k.rec.status != "revoked") {
              k.rec.status = "revoked";
              k.rec.revoked_at = now;
              forget_key(self->state, k.rec);
            }
          return true;
        });
    },
    [=](put_provider_atom, storage::provider_record rec, bool is_new,
        const audit_ctx& who) -> caf::result<storage::provider_record> {
      auto& st = self->state;
      auto existing = st.providers.find(rec.name);
      if (is_new && existing != st.providers.end())
        return to_error(policy::make_problem(
          errc::conflict, "field 'name': a provider named '" + rec.name
                            + "' exists"));
      if (!is_new && existing == st.providers.end())
        return to_error(policy::make_problem(
          errc::not_found, "no provider named '" + rec.name + "'"));
      auto plan = policy::parse_plan(st.org.plan).value_or(policy::plan::free);
      auto max = policy::limits_for(plan, std::nullopt, false).max_providers;
      if (is_new && max && static_cast<int>(st.providers.size()) >= *max)
        return to_error(policy::make_problem(
          errc::limit_exceeded, "the " + st.org.plan + " plan allows "
                                  + std::to_string(*max) + " providers"));
      for (auto& f : rec.fallback)
        if (f == rec.name || !st.providers.count(f))
          return to_error(policy::make_problem(
            errc::invalid_request,
            "field 'fallback': '" + f + "' is not another provider of "
            "this organization"));
      rec.org_id = st.org.id;
      if (is_new)
        rec.is_default = st.providers.empty();
      else
        rec.is_default = existing->second.rec.is_default;
      auto target = make_target(rec, *st.links.secrets);
      if (!target)
        return to_error(target.error());
      auto before = is_new ? nlohmann::json(nullptr)
                           : provider_view(existing->second.rec);
      auto entry = audit(st, who, is_new ? "provider.create" : "provider.update",
                         "provider", rec.id, before, provider_view(rec));
      return write_then<storage::provider_record>(
        self,
        db_job{[rec, entry, is_new](storage::store& s) {
          if (is_new)
            s.insert_provider(rec, entry);
          else
            s.update_provider(rec, entry);
        }},
        [self, rec, t = target.value()] {
          self->state.providers[rec.name] = provider_entry{rec, t};
          return rec;
        });
    },
    [=](del_provider_atom, const std::string& name, const audit_ctx& who)
      -> caf::result<storage::provider_record> {
      auto& st = self->state;
      auto i = st.providers.find(name);
      if (i == st.providers.end())
        return to_error(policy::make_problem(
          errc::not_found, "no provider named '" + name + "'"));
      auto rec = i->second.rec;
      auto entry = audit(st, who, "provider.delete", "provider", rec.id,
                         provider_view(rec), nullptr);
      return write_then<storage::provider_record>(
        self,
        db_job{[rec, entry](storage::store& s) {
          s.delete_provider(rec.org_id, rec.name, entry);
        }},
        [self, rec] {
          auto& st = self->state;
          st.providers.erase(rec.name);
          for (auto& [n, p] : st.providers) {
            auto& fb = p.rec.fallback;
            fb.erase(std::remove(fb.begin(), fb.end(), rec.name), fb.end());
          }
          return rec;
        });
    },
    [=](default_provider_atom, const std::string& name, const audit_ctx& who)
      -> caf::result<std::string> {
      auto& st = self->state;
      if (!st.providers.count(name))
        return to_error(policy::make_problem(
          errc::not_found, "no provider named '" + name + "'"));
      auto entry = audit(st, who, "provider.default", "provider",
                         st.providers.at(name).rec.id, nullptr,
                         nlohmann::json{{"default_provider", name}});
      auto org_id = st.org.id;
      return write_then<std::string>(
        self,
        db_job{[org_id, name, entry](storage::store& s) {
          s.set_default_provider(org_id, name, entry);
        }},
        [self, name] {
          for (auto& [n, p] : self->state.providers)
            p.rec.is_default = n == name;
          return name;
        });
    },
    [=](set_pricing_atom, std::vector<storage::price_override>& prices,
        const audit_ctx& who) -> caf::result<bool> {
      auto& st = self->state;
      auto price = [](std::int64_t in, std::int64_t out) {
        return nlohmann::json{{"input_per_mtok", policy::micros_to_usd(in)},
                              {"output_per_mtok", policy::micros_to_usd(out)}};
      };
      nlohmann::json before = {{"models", nlohmann::json::object()}};
      for (auto& [model, p] : st.prices)
        before["models"][model] = price(p.input_micros_per_mtok,
                                        p.output_micros_per_mtok);
      nlohmann::json after = {{"models", nlohmann::json::object()}};
      for (auto& p : prices)
        after["models"][p.model] = price(p.input_micros_per_mtok,
                                         p.output_micros_per_mtok);
      auto entry = audit(st, who, "pricing.update", "org", st.org.id, before,
                         after);
      auto org_id = st.org.id;
      return write_then<bool>(
        self,
        db_job{[org_id, prices, entry](storage::store& s) {
          s.replace_price_overrides(org_id, prices, entry);
        }},
        [self, prices] {
          auto& st = self->state;
          st.prices.clear();
          for (auto& p : prices)
            st.prices[p.model] = policy::model_price{p.input_micros_per_mtok,
                                                     p.output_micros_per_mtok};
          return true;
        });
    },
    [=](get_org_atom) { return self->state.org; },
    [=](refresh_atom) {
      auto fresh = std::make_shared<std::optional<storage::org_record>>();
      auto id = self->state.org.id;
      auto seen = self->state.version;
      self
        ->request(self->state.links.db, caf::infinite,
                  db_job{[fresh, id](storage::store& s) {
                    *fresh = s.find_org(id);
                  }})
        .then(
          [=](bool) {
            auto& st = self->state;
            if (*fresh && st.version == seen) {
              st.org.plan = (*fresh)->plan;
              st.org.name = (*fresh)->name;
              st.org.settings_json = (*fresh)->settings_json;
              publish(st);
            }
          },
          [](caf::error&) {
            // The next change is announced again; a node restart reads all.
          });
    },
    [=](passivate_atom, uint64_t uses, int64_t now_ms) {
      auto& st = self->state;
      if (st.passivating || !rates_at_rest(st, now_ms * 1000))
        return;
      st.passivating = true;
      // Settled spend that the writer still holds would be missing from
      // storage when the org is spawned again: commit it first.
      self->request(st.links.writer, caf::infinite, flush_atom_v)
        .then(
          [=](bool ok) {
            auto& st = self->state;
            st.passivating = false;
            if (!ok
                || !st.links.dir->retire(st.org.id,
                                         caf::actor_cast<org_actor>(self),
                                         uses))
              return;
            if (st.links.metrics)
              st.links.metrics->org_actor_passivated();
            self->quit();
          },
          [=](caf::error&) { self->state.passivating = false; });
    },
  };
}

} // namespace gatehouse::actors
