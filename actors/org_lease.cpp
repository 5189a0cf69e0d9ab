#include "actors/org_lease.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>

#include <spdlog/spdlog.h>

#include "actors/cluster.hpp"
#include "actors/cluster_routes.hpp"
#include "actors/org_actor.hpp"
#include "policy/lease.hpp"
#include "policy/rendezvous.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

// Deadline kinds of lease_timer_atom.
constexpr int32_t timer_ask = 0;
constexpr int32_t timer_recall = 1;
constexpr int32_t timer_collect = 2;
constexpr int32_t timer_reclaim = 3;
constexpr int32_t timer_rate_ask = 4;

/// How long a home waits, after a member holding leases went down, before
/// it takes them back (the member stops admitting from them as soon as it
/// loses the home itself).
constexpr auto reclaim_grace = std::chrono::milliseconds(2000);

/// A home that does not answer within this is asked again (after working
/// out the home again: it may have changed).
constexpr auto ask_deadline = std::chrono::milliseconds(1000);
/// Asks before a waiting request is refused as `overloaded`: the home was
/// unreachable for this many deadlines (longer than the 3 s a dead member
/// takes to be noticed, plus its re-homing).
constexpr int max_ask_tries = 6;
/// A member that does not give back its rest within this keeps its lease.
constexpr auto recall_deadline = std::chrono::milliseconds(1000);
/// A member that does not answer a collect within this is left out.
constexpr auto collect_deadline = std::chrono::milliseconds(1500);

const std::string& self_id(const org_state& st) {
  return st.links.cluster->self_id();
}

std::string compute_home(const org_state& st) {
  auto home = policy::home_node(st.links.cluster->home_candidates(), st.org.id);
  return home.empty() ? self_id(st) : home;
}

/// Members other than this node that are not down.
std::vector<std::string> peers_alive(const org_state& st) {
  std::vector<std::string> out;
  for (const auto& m : st.links.cluster->members())
    if (m.node_id != self_id(st) && m.state != member_state::down)
      out.push_back(m.node_id);
  return out;
}

/// True when the sender of the current message is this process or an
/// authenticated member's (messages between org actors skip the
/// membership actor's checks).
bool from_member(org_self self) {
  auto& src = self->current_sender();
  return !src || self->state.links.routes->is_member_node(src->node());
}

std::shared_ptr<team_ledger> fresh_lease_ledger(const org_state& st) {
  auto l = std::make_shared<team_ledger>(st.month, 0);
  l->deferrable = true;
  return l;
}

bool has_cap(const storage::team_record& rec) {
  return rec.monthly_spend_limit_micros.has_value();
}

void count(org_state& st, const authorization& a) {
  if (!a.ok && st.links.metrics)
    st.links.metrics->record_denial(st.org.id, a.denial.code);
}

/// Answers a waiting request with a final refusal: its team budget is
/// spent, or (`overloaded`) the org's home did not answer.
void refuse(org_state& st, lease_waiter& w, policy::errc code) {
  authorization a;
  if (code == policy::errc::budget_exceeded) {
    a = budget_refusal(w.req.now_s);
  } else {
    a.denial = policy::make_problem(
      code, "the request needs the word of the organization's home node in "
            "the cluster, which does not answer; retry shortly");
    a.denial.retry_after_s = 1;
  }
  count(st, a);
  w.reply.fn(std::move(a));
}

/// The team or key a deadline was armed for, taken out of `deadlines`;
/// nullopt when it was answered (and so erased) before it fired.
std::optional<std::string>
take_deadline(std::map<std::uint64_t, std::string>& deadlines,
              std::uint64_t seq) {
  auto d = deadlines.find(seq);
  if (d == deadlines.end())
    return std::nullopt;
  auto id = std::move(d->second);
  deadlines.erase(d);
  return id;
}

/// Counts an ask that found no answer; after max_ask_tries in a row the
/// waiting requests are refused as `overloaded` (and true is answered).
bool out_of_tries(org_state& st, pending_ask& p) {
  if (++p.tries < max_ask_tries)
    return false;
  p.tries = 0;
  auto refused = std::move(p.waiting);
  p.waiting.clear();
  for (auto& w : refused)
    refuse(st, w, policy::errc::overloaded);
  return true;
}

/// Home only: whether calling leases back could lift a refusal.
bool home_deferrable(const lease_book& book, const team_leases& tl) {
  if (book.rebuilding)
    return true;
  for (const auto& [node, l] : tl.out)
    if (l.may_have_rest)
      return true;
  return false;
}

void update_deferrable(org_state& st, const std::string& team_id) {
  auto t = st.teams.find(team_id);
  if (t == st.teams.end())
    return;
  auto& tl = st.leases.teams[team_id];
  t->second.ledger->deferrable = home_deferrable(st.leases, tl);
}

void send_grant(org_self self, const caf::actor& to, const lease_ask& ask,
                std::int64_t amount, bool not_home) {
  lease_grant g{ask.team_id, self->state.month, self_id(self->state), amount,
                ask.seq, not_home, ask.rate, 0};
  self->state.links.routes->count(lease_msg::grant);
  self->send(caf::actor_cast<org_actor>(to), lease_grant_atom_v, std::move(g));
}

std::uint64_t arm(org_self self, int32_t kind, const std::string& team_id,
                  std::chrono::milliseconds after) {
  auto& book = self->state.leases;
  auto seq = book.next_seq++;
  book.deadlines[seq] = team_id;
  self->delayed_send(self, after, lease_timer_atom_v, kind, seq);
  return seq;
}

// -- a member's side -----------------------------------------------------

void ask_home(org_self self, const std::string& team_id, std::int64_t need) {
  auto& st = self->state;
  auto& tl = st.leases.teams[team_id];
  if (tl.pending.asking)
    return;
  auto hdl = st.links.routes->membership_of(st.leases.home);
  tl.pending.asking = true;
  tl.pending.seq = arm(self, timer_ask, team_id, ask_deadline);
  if (!hdl)
    return; // the home is not reachable yet: the deadline asks again
  need = policy::lease_need(need);
  lease_ask ask{st.org.id, team_id, st.month, self_id(st), need,
                policy::lease_want(need, st.links.routes->lease_slice()),
                tl.pending.seq};
  // The membership actor is dynamically typed: sent unchecked, with this
  // actor as the sender it checks.
  caf::unsafe_send_as(self, hdl, lease_ask_atom_v, std::move(ask),
                      caf::actor_cast<caf::actor>(self));
  st.links.routes->count(lease_msg::ask);
}

/// Runs the waiting requests of a team again; answers those that are
/// decided now. `final` refuses those still short (the home refused, or
/// the home called leases back and still could not cover them).
void retry_waiting(org_self self, const std::string& team_id, bool final) {
  auto& st = self->state;
  auto& tl = st.leases.teams[team_id];
  auto waiting = std::move(tl.pending.waiting);
  tl.pending.waiting.clear();
  for (auto& w : waiting) {
    auto a = authorize(st, w.req, true);
    if (a.ok || !a.deferred) {
      count(st, a);
      w.reply.fn(std::move(a));
    } else if (final) {
      refuse(st, w, policy::errc::budget_exceeded);
    } else {
      tl.pending.waiting.push_back(std::move(w));
    }
  }
}

/// Asks the home for the first waiting request's need, if any waits.
void ask_for_waiting(org_self self, const std::string& team_id) {
  auto& tl = self->state.leases.teams[team_id];
  if (!tl.pending.waiting.empty())
    ask_home(self, team_id, tl.pending.waiting.front().need);
}

// -- the home's side -----------------------------------------------------

void answer_asks(org_self self, const std::string& team_id, bool may_recall);

/// On a member: asks the home about a key's waiting requests (on the home:
/// decides them).
void rate_ask(org_self self, const std::string& key_id);

/// Calls back the rest of every lease that may have one; the waiting asks
/// and requests are decided once all answered (or the deadline passed).
bool start_recall(org_self self, const std::string& team_id) {
  auto& st = self->state;
  auto& tl = st.leases.teams[team_id];
  if (tl.recalls_pending > 0)
    return true;
  for (auto& [node, l] : tl.out) {
    if (!l.may_have_rest || !l.holder)
      continue;
    l.may_have_rest = false;
    ++tl.recalls_pending;
    st.links.routes->count(lease_msg::recall);
    self->send(caf::actor_cast<org_actor>(l.holder), lease_recall_atom_v,
               team_id, st.month);
  }
  update_deferrable(st, team_id);
  if (tl.recalls_pending == 0)
    return false;
  arm(self, timer_recall, team_id, recall_deadline);
  return true;
}

void recall_done(org_self self, const std::string& team_id) {
  auto& tl = self->state.leases.teams[team_id];
  tl.recalls_pending = 0;
  update_deferrable(self->state, team_id);
  retry_waiting(self, team_id, !home_deferrable(self->state.leases, tl));
  answer_asks(self, team_id, false);
}

/// Grants what the rule allows, from the home's ledger of record.
std::int64_t grant_from(org_state& st, team_entry& t, const lease_ask& ask) {
  auto& l = *t.ledger;
  auto cap = l.limit.load();
  if (cap == team_ledger::no_limit)
    return 0;
  auto remaining = cap - l.committed.load();
  auto members = st.links.cluster->home_candidates().size();
  auto amount = policy::lease_grant(remaining, ask.need, ask.want, members);
  if (amount > 0 && !l.reserve(amount))
    amount = l.reserve(ask.need) ? ask.need : 0;
  return amount;
}

/// Answers the asks of a team that wait; with `may_recall`, a shortfall
/// first calls leases back.
void answer_asks(org_self self, const std::string& team_id, bool may_recall) {
  auto& st = self->state;
  auto& tl = st.leases.teams[team_id];
  if (st.leases.rebuilding || tl.recalls_pending > 0)
    return;
  auto asks = std::move(tl.asks);
  tl.asks.clear();
  auto t = st.teams.find(team_id);
  for (std::size_t i = 0; i < asks.size(); ++i) {
    auto& [ask, to] = asks[i];
    std::int64_t amount = 0;
    if (t != st.teams.end() && ask.month == st.month)
      amount = grant_from(st, t->second, ask);
    if (amount == 0 && may_recall && t != st.teams.end()
        && ask.month == st.month && start_recall(self, team_id)) {
      // Decided once the rest of the leases is back.
      for (std::size_t j = i; j < asks.size(); ++j)
        tl.asks.push_back(std::move(asks[j]));
      return;
    }
    if (amount > 0) {
      auto& l = tl.out[ask.node_id];
      l.amount += amount;
      l.may_have_rest = true;
      l.holder = to;
    }
    send_grant(self, to, ask, amount, false);
  }
  update_deferrable(st, team_id);
}

// -- a new home collects the org -----------------------------------------

/// What this node has in flight for each team, and its ledgers replaced by
/// ones that hold nothing: a member's are fresh leases, a home's are closed
/// until it rebuilt them.
std::map<std::string, std::int64_t> hand_in(org_self self) {
  auto& st = self->state;
  std::map<std::string, std::int64_t> in_flight;
  for (auto& [id, t] : st.teams) {
    auto& tl = st.leases.teams[id];
    auto mine = own_in_flight(st, id) + tl.unreported;
    tl.unreported = 0;
    tl.out.clear();
    tl.recalls_pending = 0;
    tl.pending.asking = false;
    if (mine > 0)
      in_flight[id] = mine;
    if (has_cap(t.rec))
      t.ledger = fresh_lease_ledger(st);
  }
  publish(st);
  return in_flight;
}

void finish_rebuild(org_self self, std::uint64_t seq);

/// Storing or reading the spend failed (the database is unreachable): the
/// org keeps waiting and the reading is tried again in a second.
void retry_rebuild(org_self self, const caf::error& err) {
  auto& book = self->state.leases;
  spdlog::warn("cluster: org {}: rebuilding its budgets failed ({}); "
               "retrying",
               self->state.org.id, self->system().render(err));
  book.rebuild_seq = book.next_seq++;
  self->delayed_send(self, std::chrono::seconds(1), lease_timer_atom_v,
                     timer_collect, book.rebuild_seq);
}

void start_rebuild(org_self self) {
  auto& st = self->state;
  auto& book = st.leases;
  book.rebuilding = true;
  book.rebuild_seq = book.next_seq++;
  st.links.routes->count_rebuild();
  book.collected = hand_in(self);
  book.collect_pending = peers_alive(st);
  auto seq = book.rebuild_seq;
  for (const auto& node : book.collect_pending) {
    auto hdl = st.links.routes->membership_of(node);
    if (hdl) {
      caf::unsafe_send_as(self, hdl, lease_collect_atom_v, st.org.id,
                          st.month, self_id(st),
                          caf::actor_cast<caf::actor>(self));
      st.links.routes->count(lease_msg::collect);
    }
  }
  self->delayed_send(self, collect_deadline, lease_timer_atom_v,
                     timer_collect, seq);
  if (book.collect_pending.empty())
    finish_rebuild(self, seq);
}

/// Every member answered (or the deadline passed): stores this node's
/// spend, reads the month's spend from storage and makes the ledgers of
/// record from it and what is in flight everywhere.
void finish_rebuild(org_self self, std::uint64_t seq) {
  auto& st = self->state;
  if (!st.leases.rebuilding || st.leases.rebuild_seq != seq)
    return;
  if (!st.leases.collect_pending.empty())
    spdlog::warn("cluster: org {}: {} member(s) did not answer the new home; "
                 "their requests in flight are not counted",
                 st.org.id, st.leases.collect_pending.size());
  st.leases.collect_pending.clear();
  st.leases.rebuild_seq = st.leases.next_seq++;
  auto mine = st.leases.rebuild_seq;
  auto usage = std::make_shared<std::vector<storage::usage_delta>>();
  auto org_id = st.org.id;
  auto month = st.month;
  self->request(st.links.writer, caf::infinite, flush_atom_v)
    .then([=](bool) {
      self->request(self->state.links.db, caf::infinite,
                    db_job{[usage, org_id, month](storage::store& s) {
                      *usage = s.load_month_usage(org_id, month);
                    }})
        .then(
          [=](bool) {
            auto& st = self->state;
            if (st.leases.rebuild_seq != mine || !st.leases.rebuilding)
              return;
            if (month != st.month) {
              start_rebuild(self);
              return;
            }
            std::map<std::string, std::pair<std::int64_t, std::int64_t>> db;
            for (auto& u : *usage)
              if (u.scope_type == "team")
                db[u.scope_id] = {u.cost_micros, u.requests};
            for (auto& [id, t] : st.teams) {
              auto l = std::make_shared<team_ledger>(
                st.month, has_cap(t.rec) ? *t.rec.monthly_spend_limit_micros
                                         : team_ledger::no_limit);
              auto d = db[id];
              auto flight = st.leases.collected.count(id)
                              ? st.leases.collected[id]
                              : 0;
              l->spent = d.first;
              l->committed = d.first + flight;
              l->requests = d.second;
              t.ledger = std::move(l);
            }
            st.leases.collected.clear();
            st.leases.rebuilding = false;
            publish(st);
            for (auto& [id, tl] : st.leases.teams) {
              retry_waiting(self, id, true);
              answer_asks(self, id, true);
            }
          },
          [=](caf::error& err) { retry_rebuild(self, err); });
    },
          [=](caf::error& err) { retry_rebuild(self, err); });
}

} // namespace

bool clustered(const org_state& st) {
  return st.links.cluster && st.links.routes && st.links.cluster->clustered();
}

bool is_home(const org_state& st) {
  return !clustered(st) || st.leases.home == self_id(st);
}

void shape_ledger(const org_state& st, const storage::team_record& rec,
                  team_ledger& ledger, bool fresh) {
  auto cap = has_cap(rec) ? *rec.monthly_spend_limit_micros
                          : team_ledger::no_limit;
  if (is_home(st)) {
    if (!st.leases.rebuilding || cap == team_ledger::no_limit)
      ledger.limit = cap;
    return;
  }
  if (cap == team_ledger::no_limit) {
    ledger.limit = cap;
    ledger.deferrable = false;
  } else if (fresh || ledger.limit.load() == team_ledger::no_limit) {
    ledger.limit = 0;
    ledger.deferrable = true;
  }
}

std::int64_t own_in_flight(const org_state& st, const std::string& team_id) {
  auto t = st.teams.find(team_id);
  if (t == st.teams.end())
    return 0;
  auto& l = *t->second.ledger;
  auto n = l.committed.load() - l.spent.load();
  auto tl = st.leases.teams.find(team_id);
  if (tl != st.leases.teams.end())
    for (const auto& [node, out] : tl->second.out)
      n -= out.amount;
  return std::max<std::int64_t>(n, 0);
}

void lease_start(org_self self) {
  auto& st = self->state;
  if (!clustered(st))
    return;
  st.leases.home = compute_home(st);
  if (!is_home(st)) {
    for (auto& [id, t] : st.teams)
      if (has_cap(t.rec))
        t.ledger = fresh_lease_ledger(st);
    publish(st);
    return;
  }
  publish(st); // keys' rate limits are decided here
  // Members may hold leases of this org granted before: collect them.
  if (!peers_alive(st).empty())
    start_rebuild(self);
}

/// On the home: members holding leases that are down now.
bool holders_lost(const org_state& st) {
  auto alive = peers_alive(st);
  for (const auto& [id, tl] : st.leases.teams)
    for (const auto& [node, l] : tl.out)
      if (std::find(alive.begin(), alive.end(), node) == alive.end())
        return true;
  return false;
}

void lease_rehome(org_self self) {
  auto& st = self->state;
  if (!clustered(st))
    return;
  auto home = compute_home(st);
  if (home == st.leases.home) {
    if (is_home(st) && !st.leases.rebuilding && holders_lost(st))
      self->delayed_send(self, reclaim_grace, lease_timer_atom_v,
                         timer_reclaim, std::uint64_t{0});
    return;
  }
  bool was_home = is_home(st);
  st.leases.home = home;
  if (is_home(st)) {
    start_rebuild(self);
    for (auto& [id, kw] : st.leases.keys) {
      kw.pending.asking = false;
      rate_ask(self, id);
    }
    return;
  }
  if (was_home) {
    // What this node has in flight is reported to the new home when it
    // collects; its leases out are the new home's to collect.
    auto flights = hand_in(self);
    for (auto& [id, n] : flights)
      st.leases.teams[id].unreported += n;
    st.leases.rebuilding = false;
    for (auto& [id, tl] : st.leases.teams)
      for (auto& [ask, to] : tl.asks)
        send_grant(self, to, ask, 0, true);
  } else {
    // Leases of the old home are not used any more: the new home rebuilds
    // the ledger from storage and from what is in flight.
    for (auto& [id, t] : st.teams)
      if (has_cap(t.rec))
        t.ledger->give_up_rest();
  }
  for (auto& [id, tl] : st.leases.teams) {
    tl.asks.clear();
    tl.pending.settle();
    ask_for_waiting(self, id);
  }
  publish(st); // keys' rate limits follow the home
  for (auto& [id, kw] : st.leases.keys) {
    kw.pending.settle();
    rate_ask(self, id);
  }
}

void lease_month_rolled(org_state& st) {
  // Leases are of one month's ledgers; the old month's settle into them.
  for (auto& [id, tl] : st.leases.teams) {
    tl.out.clear();
    tl.unreported = 0;
  }
  for (auto& [id, t] : st.teams)
    shape_ledger(st, t.rec, *t.ledger, true);
}

namespace {

/// The key's limit, if it still has one.
std::optional<int> rpm_of(const org_state& st, const std::string& key_id) {
  auto k = st.keys.find(key_id);
  if (k == st.keys.end())
    return std::nullopt;
  return k->second.rec.rate_limit_rpm;
}

/// Lets the first `passed` of the first `decided` waiting requests of a key
/// go on (their rate-limit hit is taken) and refuses the others of those
/// `decided`; later waiters stay.
void rate_decided(org_self self, const std::string& key_id,
                  std::size_t decided, std::int64_t passed,
                  std::int64_t retry_ms) {
  auto& st = self->state;
  auto& kw = st.leases.keys[key_id];
  decided = std::min(decided, kw.pending.waiting.size());
  std::vector<lease_waiter> now(
    std::make_move_iterator(kw.pending.waiting.begin()),
    std::make_move_iterator(kw.pending.waiting.begin()
                            + static_cast<std::ptrdiff_t>(decided)));
  kw.pending.waiting.erase(kw.pending.waiting.begin(),
                   kw.pending.waiting.begin() + static_cast<std::ptrdiff_t>(decided));
  auto rpm = rpm_of(st, key_id).value_or(0);
  for (std::size_t i = 0; i < now.size(); ++i) {
    auto& w = now[i];
    if (static_cast<std::int64_t>(i) >= passed) {
      auto a = rate_refusal(rpm, retry_ms);
      count(st, a);
      w.reply.fn(std::move(a));
      continue;
    }
    auto a = authorize(st, w.req, true);
    if (a.deferred) {
      lease_wait(self, std::move(w.req), std::move(w.reply), a);
    } else {
      count(st, a);
      w.reply.fn(std::move(a));
    }
  }
}

/// On the home: hits the key's rate state for each waiting request.
void rate_here(org_self self, const std::string& key_id) {
  auto& st = self->state;
  auto& kw = st.leases.keys[key_id];
  auto n = kw.pending.waiting.size();
  std::int64_t passed = 0;
  std::int64_t retry_ms = 0;
  auto rpm = rpm_of(st, key_id);
  auto r = st.rates.find(key_id);
  if (!rpm || r == st.rates.end()) {
    passed = static_cast<std::int64_t>(n);
  } else {
    auto now_ms = n > 0 ? kw.pending.waiting.front().req.now_ms : 0;
    while (static_cast<std::size_t>(passed) < n
           && r->second->hit(*rpm, now_ms, retry_ms))
      ++passed;
  }
  rate_decided(self, key_id, n, passed, retry_ms);
}

void rate_ask(org_self self, const std::string& key_id) {
  auto& st = self->state;
  auto& kw = st.leases.keys[key_id];
  if (kw.pending.asking || kw.pending.waiting.empty())
    return;
  if (is_home(st)) {
    rate_here(self, key_id);
    return;
  }
  kw.pending.asking = true;
  kw.asked = kw.pending.waiting.size();
  kw.pending.seq = st.leases.next_seq++;
  st.leases.rate_deadlines[kw.pending.seq] = key_id;
  self->delayed_send(self, ask_deadline, lease_timer_atom_v, timer_rate_ask,
                     kw.pending.seq);
  auto hdl = st.links.routes->membership_of(st.leases.home);
  if (!hdl)
    return; // the deadline asks again
  auto n = static_cast<std::int64_t>(kw.asked);
  lease_ask ask{st.org.id, key_id, st.month, self_id(st), n, n, kw.pending.seq,
                true};
  caf::unsafe_send_as(self, hdl, lease_ask_atom_v, std::move(ask),
                      caf::actor_cast<caf::actor>(self));
  st.links.routes->count(lease_msg::ask);
}

/// On the home: answers a member's rate ask.
void rate_answer(org_self self, const lease_ask& ask,
                 const caf::actor& reply_to) {
  auto& st = self->state;
  std::int64_t passed = 0;
  std::int64_t retry_ms = 0;
  auto rpm = rpm_of(st, ask.team_id);
  auto r = st.rates.find(ask.team_id);
  auto want = std::max<std::int64_t>(ask.want, 0);
  if (!rpm || r == st.rates.end()) {
    passed = want;
  } else {
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    while (passed < want && r->second->hit(*rpm, now_ms, retry_ms))
      ++passed;
  }
  lease_grant g{ask.team_id, st.month, self_id(st), passed,
                ask.seq,     false,    true,        retry_ms};
  st.links.routes->count(lease_msg::grant);
  self->send(caf::actor_cast<org_actor>(reply_to), lease_grant_atom_v,
             std::move(g));
}

void rate_on_grant(org_self self, const lease_grant& g) {
  auto& st = self->state;
  auto& kw = st.leases.keys[g.team_id];
  if (!kw.pending.in_flight(g.seq) || g.not_home)
    return; // late, or the deadline asks again
  kw.pending.settle();
  st.leases.rate_deadlines.erase(g.seq);
  rate_decided(self, g.team_id, kw.asked, g.amount, g.retry_after_ms);
  rate_ask(self, g.team_id);
}

void rate_deadline(org_self self, std::uint64_t seq) {
  auto& st = self->state;
  auto key = take_deadline(st.leases.rate_deadlines, seq);
  if (!key)
    return;
  auto key_id = std::move(*key);
  auto& kw = st.leases.keys[key_id];
  if (!kw.pending.in_flight(seq))
    return;
  kw.pending.asking = false;
  st.leases.home = compute_home(st);
  if (!out_of_tries(st, kw.pending))
    rate_ask(self, key_id);
}

} // namespace

void lease_wait(org_self self, proxy_request req, auth_reply reply,
                const authorization& a) {
  auto& st = self->state;
  if (a.denial.code == policy::errc::rate_limited) {
    auto key_id = a.permit.key_id;
    st.leases.keys[key_id].pending.waiting.push_back(
      lease_waiter{std::move(req), std::move(reply), 0});
    rate_ask(self, key_id);
    return;
  }
  auto team_id = a.permit.team_id.value_or("");
  auto& tl = st.leases.teams[team_id];
  tl.pending.waiting.push_back(
    lease_waiter{std::move(req), std::move(reply), a.permit.reserved_micros});
  if (!is_home(st)) {
    ask_for_waiting(self, team_id);
    return;
  }
  if (st.leases.rebuilding || tl.recalls_pending > 0)
    return; // decided when the rebuild or the call-back ends
  if (!start_recall(self, team_id))
    retry_waiting(self, team_id, true);
}

void lease_miss(org_self self, proxy_request req, auth_reply reply) {
  auto& st = self->state;
  if (roll_month(st, req.now_s)) {
    lease_month_rolled(st);
    publish(st);
  }
  // On the home the I/O thread counted the key's rate-limit hit before the
  // budget deferred the request; on a member the rate is the home's to
  // decide, and the I/O thread deferred before counting anything.
  auto a = authorize(st, req, is_home(st));
  if (a.ok || !a.deferred) {
    count(st, a);
    reply.fn(std::move(a));
    return;
  }
  lease_wait(self, std::move(req), std::move(reply), a);
}

void lease_low(org_self self, const std::string& team_id,
               std::int64_t estimate) {
  auto& st = self->state;
  auto t = st.teams.find(team_id);
  if (t == st.teams.end() || is_home(st))
    return;
  // refill_asked stays set until the answer (or the deadline) came.
  ask_home(self, team_id, estimate);
}

void lease_on_ask(org_self self, lease_ask ask, caf::actor reply_to) {
  auto& st = self->state;
  if (!clustered(st) || !from_member(self) || !reply_to)
    return;
  if (!is_home(st)) {
    send_grant(self, reply_to, ask, 0, true);
    return;
  }
  if (ask.rate) {
    rate_answer(self, ask, reply_to);
    return;
  }
  if (ask.month != st.month && ask.month > st.month
      && roll_month(st, std::time(nullptr))) {
    lease_month_rolled(st);
    publish(st);
  }
  auto& tl = st.leases.teams[ask.team_id];
  tl.asks.emplace_back(std::move(ask), std::move(reply_to));
  answer_asks(self, tl.asks.back().first.team_id, true);
}

void lease_on_grant(org_self self, const lease_grant& g) {
  auto& st = self->state;
  if (!clustered(st) || !from_member(self))
    return;
  if (g.rate) {
    rate_on_grant(self, g);
    return;
  }
  auto& tl = st.leases.teams[g.team_id];
  auto t = st.teams.find(g.team_id);
  bool current = tl.pending.in_flight(g.seq) && !is_home(st)
                 && g.node_id == st.leases.home && g.month == st.month
                 && t != st.teams.end();
  if (!current) {
    // Too late (asked again meanwhile) or from a node that is no longer
    // the home: give it straight back.
    if (g.amount > 0 && self->current_sender()) {
      st.links.routes->count(lease_msg::give_back);
      self->send(caf::actor_cast<org_actor>(self->current_sender()),
                 lease_return_atom_v,
                 lease_return{g.team_id, g.month, self_id(st), g.amount,
                              false});
    }
    return;
  }
  if (g.not_home)
    return; // the views differ for a moment: the deadline asks again
  tl.pending.settle();
  st.leases.deadlines.erase(g.seq);
  st.leases.home_actor = caf::actor_cast<caf::actor>(self->current_sender());
  auto& l = *t->second.ledger;
  if (g.amount > 0) {
    l.limit += g.amount;
    auto need = tl.pending.waiting.empty() ? g.amount : tl.pending.waiting.front().need;
    l.low_water = policy::lease_low_water(g.amount, need);
  }
  l.refill_asked = false;
  retry_waiting(self, g.team_id, g.amount == 0);
  ask_for_waiting(self, g.team_id);
}

void lease_on_recall(org_self self, const std::string& team_id,
                     const std::string& month) {
  auto& st = self->state;
  if (!clustered(st) || !from_member(self) || !self->current_sender())
    return;
  std::int64_t back = 0;
  auto t = st.teams.find(team_id);
  if (t != st.teams.end() && month == st.month && !is_home(st))
    back = t->second.ledger->give_up_rest();
  st.links.routes->count(lease_msg::give_back);
  self->send(caf::actor_cast<org_actor>(self->current_sender()),
             lease_return_atom_v,
             lease_return{team_id, month, self_id(st), back, false});
}

void lease_on_return(org_self self, const lease_return& r) {
  auto& st = self->state;
  if (!clustered(st) || !from_member(self))
    return;
  auto& tl = st.leases.teams[r.team_id];
  auto l = tl.out.find(r.node_id);
  auto t = st.teams.find(r.team_id);
  if (is_home(st) && l != tl.out.end() && r.month == st.month
      && t != st.teams.end()) {
    l->second.amount -= r.amount;
    t->second.ledger->committed -= r.amount;
    if (r.closing)
      tl.out.erase(l);
  }
  if (!r.closing && tl.recalls_pending > 0 && --tl.recalls_pending == 0)
    recall_done(self, r.team_id);
  else
    update_deferrable(st, r.team_id);
}

void lease_on_collect(org_self self, const std::string& month,
                      const std::string& home, caf::actor reply_to) {
  auto& st = self->state;
  if (!clustered(st) || !from_member(self) || !reply_to)
    return;
  if (home != self_id(st) && st.leases.home != home) {
    st.leases.home = home;
    st.leases.rebuilding = false;
  }
  auto flights = hand_in(self);
  lease_collected c;
  c.month = month;
  c.node_id = self_id(st);
  if (month == st.month)
    for (auto& [id, n] : flights) {
      c.team_ids.push_back(id);
      c.in_flight.push_back(n);
    }
  // The spend settled here is stored before the answer: the new home reads
  // it from storage.
  self->request(st.links.writer, caf::infinite, flush_atom_v)
    .then(
      [=](bool) {
        self->state.links.routes->count(lease_msg::collected);
        self->send(caf::actor_cast<org_actor>(reply_to),
                   lease_collected_atom_v, c);
      },
      [=](caf::error&) {
        self->send(caf::actor_cast<org_actor>(reply_to),
                   lease_collected_atom_v, c);
      });
  for (auto& [id, tl] : st.leases.teams)
    ask_for_waiting(self, id);
}

void lease_on_collected(org_self self, const lease_collected& c) {
  auto& st = self->state;
  if (!clustered(st) || !from_member(self) || !st.leases.rebuilding)
    return;
  auto& pending = st.leases.collect_pending;
  auto i = std::find(pending.begin(), pending.end(), c.node_id);
  if (i == pending.end())
    return;
  pending.erase(i);
  if (c.month == st.month)
    for (std::size_t k = 0; k < c.team_ids.size() && k < c.in_flight.size();
         ++k)
      st.leases.collected[c.team_ids[k]] += std::max<std::int64_t>(
        c.in_flight[k], 0);
  if (pending.empty())
    finish_rebuild(self, st.leases.rebuild_seq);
}

void lease_on_timer(org_self self, int32_t kind, std::uint64_t seq) {
  auto& st = self->state;
  if (kind == timer_collect) {
    finish_rebuild(self, seq);
    return;
  }
  if (kind == timer_rate_ask) {
    rate_deadline(self, seq);
    return;
  }
  if (kind == timer_reclaim) {
    if (is_home(st) && !st.leases.rebuilding && holders_lost(st))
      start_rebuild(self);
    return;
  }
  auto team = take_deadline(st.leases.deadlines, seq);
  if (!team)
    return;
  auto team_id = std::move(*team);
  auto& tl = st.leases.teams[team_id];
  if (kind == timer_recall) {
    if (tl.recalls_pending > 0)
      recall_done(self, team_id);
    return;
  }
  // An ask without answer.
  if (!tl.pending.in_flight(seq))
    return;
  tl.pending.asking = false;
  if (auto t = st.teams.find(team_id); t != st.teams.end())
    t->second.ledger->refill_asked = false;
  st.leases.home = compute_home(st);
  if (is_home(st)) {
    start_rebuild(self);
    return;
  }
  if (!out_of_tries(st, tl.pending))
    ask_for_waiting(self, team_id);
}

bool lease_idle(const org_state& st) {
  if (!clustered(st))
    return true;
  if (st.leases.rebuilding)
    return false;
  for (const auto& [id, tl] : st.leases.teams)
    if (!tl.pending.waiting.empty() || !tl.asks.empty() || !tl.out.empty()
        || tl.recalls_pending > 0)
      return false;
  for (const auto& [id, kw] : st.leases.keys)
    if (!kw.pending.waiting.empty())
      return false;
  return true;
}

void lease_close(org_self self) {
  auto& st = self->state;
  if (!clustered(st) || is_home(st))
    return;
  auto home = caf::actor_cast<org_actor>(st.leases.home_actor);
  for (auto& [id, t] : st.teams) {
    if (!has_cap(t.rec))
      continue;
    auto back = t.ledger->give_up_rest();
    if (home) {
      st.links.routes->count(lease_msg::give_back);
      self->send(home, lease_return_atom_v,
                 lease_return{id, st.month, self_id(st), back, true});
    }
  }
}

} // namespace gatehouse::actors
