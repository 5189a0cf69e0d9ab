#include "actors/org_actor.hpp"

#include <algorithm>
#include <chrono>

#include "actors/directory.hpp"
#include "actors/org_commands.hpp"
#include "policy/key_validity.hpp"
#include "policy/time.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

using state_ptr = org_actor::stateful_pointer<org_state>;

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
             rebuild_guardrails(self->state);
             index_aliases(self->state);
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

/// Team figures of the month from storage (in a cluster, where spend is
/// settled on every member), with this node's requests in flight.
caf::result<std::vector<team_usage>> stored_usage(state_ptr self) {
  auto rp = self->make_response_promise<std::vector<team_usage>>();
  auto usage = std::make_shared<std::vector<storage::usage_delta>>();
  auto org_id = self->state.org.id;
  auto month = self->state.month;
  self
    ->request(self->state.links.db, caf::infinite,
              db_job{[usage, org_id, month](storage::store& s) {
                *usage = s.load_month_usage(org_id, month);
              }})
    .then(
      [=](bool) mutable {
        auto& st = self->state;
        std::vector<team_usage> out;
        for (auto& [id, t] : st.teams) {
          team_usage u{id, 0, 0, own_in_flight(st, id)};
          for (auto& d : *usage)
            if (d.scope_type == "team" && d.scope_id == id) {
              u.spent_micros = d.cost_micros;
              u.requests = d.requests;
            }
          out.push_back(std::move(u));
        }
        rp.deliver(std::move(out));
      },
      [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
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

provider_entry entry_for(const org_state& st, storage::provider_record rec) {
  auto target = make_target(rec, *st.links.secrets);
  // A provider whose key cannot be read stays listed but cannot be reached.
  provider_entry e{std::move(rec), target ? target.value() : upstream_target{}};
  return e;
}

// Applying a decision's change once its write committed; each answers what
// the request answers.

storage::api_key_record apply(org_state& st, const change::key_put& c) {
  auto& rec = c.rec;
  if (c.revoked) {
    st.keys[rec.id] = make_entry(rec);
    // Revocation takes effect on the next request: the hashes leave the
    // directory too.
    forget_key(st, rec);
    return rec;
  }
  if (c.dropped_hash) {
    st.ids.erase(*c.dropped_hash);
    st.links.dir->remove_key(*c.dropped_hash);
  }
  bool fresh = !st.keys.count(rec.id);
  index_key(st, rec);
  st.keys[rec.id] = make_entry(rec);
  if (fresh && rec.rate_limit_rpm)
    st.rates[rec.id] = std::make_shared<key_rate>();
  st.links.dir->add_key(rec.key_hash, st.org.id);
  return rec;
}

storage::org_record apply(org_state& st, const change::org_put& c) {
  st.org = c.org;
  return c.org;
}

storage::provider_record apply(org_state& st, const change::provider_put& c) {
  st.providers[c.rec.name] = provider_entry{c.rec, c.target};
  return c.rec;
}

storage::provider_record apply(org_state& st,
                               const change::provider_deleted& c) {
  st.providers.erase(c.rec.name);
  for (auto& [n, p] : st.providers) {
    auto& fb = p.rec.fallback;
    fb.erase(std::remove(fb.begin(), fb.end(), c.rec.name), fb.end());
  }
  return c.rec;
}

std::string apply(org_state& st, const change::default_set& c) {
  for (auto& [n, p] : st.providers)
    p.rec.is_default = n == c.name;
  return c.name;
}

bool apply(org_state& st, const change::prices_set& c) {
  st.prices.clear();
  for (auto& p : c.prices)
    st.prices[p.model] = policy::model_price{p.input_micros_per_mtok,
                                             p.output_micros_per_mtok};
  return true;
}

storage::team_record apply(org_state& st, const change::team_put& c) {
  auto t = st.teams.find(c.rec.id);
  if (t == st.teams.end()) {
    auto& e = st.teams[c.rec.id] =
      team_entry{c.rec, new_ledger(st.month, c.rec)};
    shape_ledger(st, e.rec, *e.ledger, true);
  } else {
    t->second.rec = c.rec;
    shape_ledger(st, c.rec, *t->second.ledger, false);
  }
  return c.rec;
}

bool apply(org_state& st, const change::team_deleted& c) {
  st.teams.erase(c.id);
  for (auto& [kid, k] : st.keys)
    if (k.rec.team_id == c.id)
      k.rec.team_id.reset();
  return true;
}

storage::app_record apply(org_state& st, const change::app_put& c) {
  st.apps[c.rec.id] = app_state{c.rec.is_active, c.rec.env};
  st.app_recs[c.rec.id] = c.rec;
  return c.rec;
}

bool apply(org_state& st, const change::app_deleted& c) {
  st.apps.erase(c.id);
  st.app_recs.erase(c.id);
  // The app's keys went with it.
  for (auto i = st.keys.begin(); i != st.keys.end();) {
    if (i->second.rec.app_id == c.id) {
      forget_key(st, i->second.rec);
      i = st.keys.erase(i);
    } else {
      ++i;
    }
  }
  return true;
}

bool apply(org_state& st, const change::member_dropped& c) {
  // The member's keys were revoked with the membership.
  for (auto& [kid, k] : st.keys)
    if (k.rec.user_id == c.user_id && k.rec.status != "revoked") {
      k.rec.status = "revoked";
      k.rec.revoked_at = c.now;
      forget_key(st, k.rec);
    }
  return true;
}

/// The answer of a decision that changes nothing: the record as it is.
template <class T>
T apply_nothing(const change::key_put& c) {
  return c.rec;
}

template <class T, class Change>
T apply_nothing(const Change&) {
  return T{};
}

/// The webhook event of a committed change, if it raises `type`.
template <class Change>
std::vector<webhook_event> event_of(const org_state&, const Change&,
                                    const char*) {
  return {};
}

/// Whether the org has webhooks to tell about its changes.
bool hooks_active(const org_state& st) {
  return st.links.webhooks && st.webhooks
         && st.webhooks->active.load(std::memory_order_relaxed);
}

std::vector<webhook_event> event_of(const org_state& st,
                                    const change::key_put& c,
                                    const char* type) {
  if (type == nullptr || !hooks_active(st))
    return {};
  return {webhook_event{st.org.id, c.rec.app_id, type, key_event_data(c.rec),
                        std::nullopt, std::nullopt}};
}

/// A removed member's keys are revoked with the membership: one
/// `key.revoked` each, as if revoked one by one.
std::vector<webhook_event> event_of(const org_state& st,
                                    const change::member_dropped& c,
                                    const char*) {
  std::vector<webhook_event> out;
  if (!hooks_active(st))
    return out;
  for (auto& [kid, k] : st.keys)
    if (k.rec.user_id == c.user_id && k.rec.status != "revoked") {
      auto rec = k.rec;
      rec.status = "revoked";
      rec.revoked_at = c.now;
      out.push_back(webhook_event{st.org.id, rec.app_id, "key.revoked",
                                  key_event_data(rec), std::nullopt,
                                  std::nullopt});
    }
  return out;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Acts on a decision: answers its refusal, or runs its write and then
/// applies its change (see write_then). The webhook events a change raises
/// (`event` names the one of a key change) are queued after its write
/// committed, on the same storage worker.
template <class T, class Change>
caf::result<T> run(state_ptr self, policy::outcome<decision<Change>> decided,
                   const char* event = nullptr) {
  if (!decided)
    return to_error(decided.error());
  auto d = std::move(decided).value();
  if (!d.write)
    return apply_nothing<T>(d.change);
  auto events = event_of(self->state, d.change, event);
  auto hooks = self->state.links.webhooks;
  return write_then<T>(
    self,
    db_job{[w = std::move(*d.write), a = std::move(d.audit),
            events = std::move(events), hooks](storage::store& s) {
      perform(s, w, a);
      if (events.empty())
        return;
      auto now = wall_ms();
      for (auto& ev : events) {
        try {
          enqueue_webhook_event(s, ev, now);
        } catch (const std::exception&) {
          // The change stands; the delivery thread queues the event.
          hooks->emit(ev);
        }
      }
      hooks->nudge();
    }},
    [self, c = std::move(d.change)] { return apply(self->state, c); });
}

/// What another writer may have changed in an org, read from storage
/// (everything an org_snapshot holds but this month's counters).
std::optional<org_snapshot> load_config(storage::store& s,
                                        const std::string& org_id) {
  auto rec = s.find_org(org_id);
  if (!rec)
    return std::nullopt;
  return org_snapshot{std::move(*rec),       s.load_org_keys(org_id),
                      s.list_providers(org_id), s.list_price_overrides(org_id),
                      s.list_teams(org_id),    s.list_apps(org_id),
                      {},                      {},
                      s.org_has_webhooks(org_id)};
}

/// Replaces the org's settings, keys, providers, prices, teams and apps by
/// `snap`, read again from storage after a change made elsewhere. What
/// lives only in memory stays: the team ledgers (a team's limit is updated
/// in place) and the rate states of the keys that remain.
void reload(org_state& st, org_snapshot snap) {
  if (st.webhooks)
    st.webhooks->active.store(snap.has_webhooks, std::memory_order_relaxed);
  st.org.plan = snap.org.plan;
  st.org.name = snap.org.name;
  st.org.settings_json = snap.org.settings_json;
  st.org.guardrails_json = snap.org.guardrails_json;
  st.org.aliases_json = snap.org.aliases_json;
  st.keys.clear();
  st.ids.clear();
  decltype(st.rates) rates;
  for (auto& k : snap.keys) {
    index_key(st, k);
    if (k.rate_limit_rpm) {
      auto r = st.rates.find(k.id);
      rates[k.id] =
        r != st.rates.end() ? r->second : std::make_shared<key_rate>();
    }
    auto key_id = k.id;
    st.keys.emplace(std::move(key_id), make_entry(std::move(k)));
  }
  st.rates = std::move(rates);
  st.providers.clear();
  for (auto& p : snap.providers) {
    auto name = p.name;
    st.providers.emplace(std::move(name), entry_for(st, std::move(p)));
  }
  st.prices.clear();
  for (auto& p : snap.prices)
    st.prices[p.model] = policy::model_price{p.input_micros_per_mtok,
                                             p.output_micros_per_mtok};
  decltype(st.teams) teams;
  for (auto& t : snap.teams) {
    auto old = st.teams.find(t.id);
    bool fresh = old == st.teams.end();
    auto ledger = fresh ? new_ledger(st.month, t) : old->second.ledger;
    shape_ledger(st, t, *ledger, fresh);
    auto team_id = t.id;
    teams.emplace(std::move(team_id), team_entry{std::move(t), ledger});
  }
  st.teams = std::move(teams);
  st.apps.clear();
  st.app_recs.clear();
  for (auto& a : snap.apps) {
    st.apps[a.id] = app_state{a.is_active, a.env};
    st.app_recs[a.id] = a;
  }
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
  if (st.links.webhooks) {
    st.webhooks = st.links.webhooks->org(st.org.id);
    st.webhooks->active.store(snap.has_webhooks, std::memory_order_relaxed);
  }
  rebuild_guardrails(st);
  index_aliases(st);
  publish(st);
  lease_start(self);
  // Refreshes asked for, and the newest one applied.
  auto refreshes = std::make_shared<std::pair<uint64_t, uint64_t>>(0, 0);
  return {
    [=](authkey_atom, const std::string& hash, int64_t now_s) {
      return verdict_for(self->state, hash, now_s);
    },
    [=](create_key_atom, storage::api_key_record rec, const audit_ctx& who)
      -> caf::result<storage::api_key_record> {
      return run<storage::api_key_record>(
        self, decide(self->state, cmd::create_key{std::move(rec)}, who),
        "key.created");
    },
    [=](revoke_key_atom, const std::string& id, const audit_ctx& who)
      -> caf::result<storage::api_key_record> {
      return run<storage::api_key_record>(
        self, decide(self->state, cmd::revoke_key{id}, who), "key.revoked");
    },
    [=](rotate_key_atom, const std::string& id, const std::string& new_hash,
        const std::string& new_prefix, int32_t overlap_hours,
        const audit_ctx& who) -> caf::result<storage::api_key_record> {
      return run<storage::api_key_record>(
        self,
        decide(self->state,
               cmd::rotate_key{id, new_hash, new_prefix, overlap_hours}, who),
        "key.rotated");
    },
    [=](set_plan_atom, const std::string& plan, const audit_ctx& who)
      -> caf::result<storage::org_record> {
      return run<storage::org_record>(
        self, decide(self->state, cmd::set_plan{plan}, who));
    },
    [=](update_org_atom, const org_update& change, const audit_ctx& who)
      -> caf::result<storage::org_record> {
      return run<storage::org_record>(
        self, decide(self->state, cmd::update_org{change}, who));
    },
    [=](authorize_atom, const proxy_request& req) {
      return counted(self->state, authorize_now(self->state, req));
    },
    [=](authorize_atom, proxy_request& req, auth_reply& reply) {
      auto a = authorize_now(self->state, req);
      if (a.deferred)
        lease_wait(self, std::move(req), std::move(reply), a);
      else
        reply.fn(counted(self->state, std::move(a)));
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
      return run<storage::team_record>(
        self, decide(self->state, cmd::put_team{std::move(rec), is_new}, who));
    },
    [=](del_team_atom, const std::string& id, const audit_ctx& who)
      -> caf::result<bool> {
      return run<bool>(self, decide(self->state, cmd::delete_team{id}, who));
    },
    [=](team_usage_atom,
        int64_t now_s) -> caf::result<std::vector<team_usage>> {
      auto& st = self->state;
      if (roll_month(st, now_s))
        publish(st);
      if (clustered(st))
        return stored_usage(self);
      std::vector<team_usage> out;
      for (auto& [id, t] : st.teams)
        out.push_back(team_usage{id, t.ledger->spent, t.ledger->requests,
                                 t.ledger->committed - t.ledger->spent});
      return out;
    },
    [=](put_app_atom, storage::app_record rec, bool is_new,
        const audit_ctx& who) -> caf::result<storage::app_record> {
      auto& st = self->state;
      return run<storage::app_record>(
        self, decide(st, st.app_recs, cmd::put_app{std::move(rec), is_new},
                     who));
    },
    [=](del_app_atom, const std::string& id, const audit_ctx& who)
      -> caf::result<bool> {
      auto& st = self->state;
      return run<bool>(self, decide(st, st.app_recs, cmd::delete_app{id}, who));
    },
    [=](drop_member_atom, const std::string& user_id, const audit_ctx& who)
      -> caf::result<bool> {
      return run<bool>(self,
                       decide(self->state, cmd::drop_member{user_id}, who));
    },
    [=](put_provider_atom, storage::provider_record rec, bool is_new,
        const audit_ctx& who) -> caf::result<storage::provider_record> {
      auto& st = self->state;
      return run<storage::provider_record>(
        self, decide(st, cmd::put_provider{std::move(rec), is_new}, who,
                     *st.links.secrets));
    },
    [=](del_provider_atom, const std::string& name, const audit_ctx& who)
      -> caf::result<storage::provider_record> {
      return run<storage::provider_record>(
        self, decide(self->state, cmd::delete_provider{name}, who));
    },
    [=](default_provider_atom, const std::string& name, const audit_ctx& who)
      -> caf::result<std::string> {
      return run<std::string>(
        self, decide(self->state, cmd::default_provider{name}, who));
    },
    [=](set_pricing_atom, std::vector<storage::price_override>& prices,
        const audit_ctx& who) -> caf::result<bool> {
      return run<bool>(
        self, decide(self->state, cmd::set_pricing{std::move(prices)}, who));
    },
    [=](get_org_atom) { return self->state.org; },
    [=](refresh_atom) {
      auto fresh = std::make_shared<std::optional<org_snapshot>>();
      auto id = self->state.org.id;
      auto seen = self->state.version;
      // Reads run on several storage workers and may answer out of order;
      // a later read saw at least what an earlier one did.
      auto mine = ++refreshes->first;
      self
        ->request(self->state.links.db, caf::infinite,
                  db_job{[fresh, id](storage::store& s) {
                    *fresh = load_config(s, id);
                  }})
        .then(
          [=](bool) {
            auto& st = self->state;
            if (*fresh && st.version == seen && mine > refreshes->second) {
              refreshes->second = mine;
              reload(st, std::move(**fresh));
              rebuild_guardrails(st);
              index_aliases(st);
              publish(st);
            }
          },
          [](caf::error&) {
            // The next change is announced again; a node restart reads all.
          });
    },
    [=](passivate_atom, uint64_t uses, int64_t now_ms) {
      auto& st = self->state;
      if (st.passivating || !rates_at_rest(st, now_ms * 1000)
          || !lease_idle(st))
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
            lease_close(self);
            self->quit();
          },
          [=](caf::error&) { self->state.passivating = false; });
    },
    [=](lease_miss_atom, proxy_request& req, auth_reply& reply) {
      lease_miss(self, std::move(req), std::move(reply));
    },
    [=](lease_low_atom, const std::string& team_id, int64_t estimate) {
      lease_low(self, team_id, estimate);
    },
    [=](lease_ask_atom, lease_ask& ask, caf::actor& reply_to) {
      lease_on_ask(self, std::move(ask), std::move(reply_to));
    },
    [=](lease_grant_atom, const lease_grant& g) { lease_on_grant(self, g); },
    [=](lease_recall_atom, const std::string& team_id,
        const std::string& month) { lease_on_recall(self, team_id, month); },
    [=](lease_return_atom, const lease_return& r) { lease_on_return(self, r); },
    [=](lease_collect_atom, const std::string& month, const std::string& home,
        caf::actor& reply_to) {
      lease_on_collect(self, month, home, std::move(reply_to));
    },
    [=](lease_collected_atom, const lease_collected& c) {
      lease_on_collected(self, c);
    },
    [=](lease_timer_atom, int32_t kind, uint64_t seq) {
      lease_on_timer(self, kind, seq);
    },
    [=](rehome_atom) { lease_rehome(self); },
  };
}

} // namespace gatehouse::actors
