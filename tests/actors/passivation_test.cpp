#define CAF_SUITE passivation

// Idle org actors passivate and come back from storage exactly where they
// stopped; changes made outside the node reach live actors through the
// change log.

#include <cstdlib>
#include <filesystem>

#include <caf/test/dsl.hpp>

#include "actors/directory.hpp"
#include "actors/log_inbox.hpp"
#include "actors/metrics.hpp"
#include "actors/org_actor.hpp"
#include "actors/org_watch.hpp"
#include "actors/storage_worker.hpp"
#include "actors/storage_writer.hpp"
#include "policy/api_key.hpp"
#include "policy/budget.hpp"
#include "policy/crypto.hpp"
#include "policy/ids.hpp"
#include "policy/time.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"
#include "test_support.hpp"

using namespace gatehouse;
using namespace gatehouse::actors;

namespace {

constexpr int64_t t0 = 1'800'000'000; // mid-January 2027
constexpr int64_t idle_s = 60;

// Output at $1000 per million tokens: 1000 micro-dollars per token.
constexpr int64_t micros_per_token = 1000;

struct fixture : test_coordinator_fixture<> {
  std::string tmp = testing::temp_dir();
  storage::connection_pool pool{"sqlite://" + tmp + "/t.db", 2};
  std::shared_ptr<storage::secrets> secrets =
    std::make_shared<storage::secrets>(
      storage::secrets{policy::random_bytes(32), "jwt-secret"});
  std::shared_ptr<directory> dir = std::make_shared<directory>();
  std::shared_ptr<log_inbox> inbox = std::make_shared<log_inbox>(1000);
  std::shared_ptr<metrics_registry> metrics =
    std::make_shared<metrics_registry>();
  std::string raw = policy::generate_api_key();
  std::string limited_raw = policy::generate_api_key();
  std::string team_id = policy::uuid_v4();
  storage::org_record org;
  caf::actor db;
  storage_writer_actor writer;
  caf::actor watch;
  int64_t now_ms = t0 * 1000; ///< the watch's clock
  int spawns = 0;

  fixture() {
    auto lease = pool.acquire();
    storage::migrate(*lease);
    storage::store st{*lease};
    org = testing::seed_org(st, "enterprise", policy::generate_api_key(), t0);
    storage::team_record team;
    team.id = team_id;
    team.org_id = org.id;
    team.name = "core";
    // Room for ten requests of ten output tokens.
    team.monthly_spend_limit_micros = 100 * micros_per_token;
    team.created_at = policy::rfc3339(t0);
    st.insert_team(team);
    auto k = testing::key_for(raw, org.id, t0);
    k.team_id = team_id;
    st.insert_key(k, testing::audit_entry(org.id, "key.create", t0));
    auto limited = testing::key_for(limited_raw, org.id, t0);
    limited.rate_limit_rpm = 60;
    st.insert_key(limited, testing::audit_entry(org.id, "key.create", t0));
    auto p = testing::openai_provider(*secrets, org.id, t0);
    st.insert_provider(p, testing::audit_entry(org.id, "provider.create", t0));
    st.replace_price_overrides(
      org.id, {storage::price_override{"gpt-4o", 0, 1000 * 1'000'000}},
      testing::audit_entry(org.id, "pricing.update", t0));
    for (auto& e : st.load_key_index(t0))
      dir->add_key(e.key_hash, e.org_id);
    db = sys.spawn(storage_worker, &pool);
    writer = sys.spawn(storage_writer_impl, db, inbox, metrics);
    org_watch_config wc;
    wc.idle_timeout = std::chrono::seconds{idle_s};
    wc.start_after = st.last_org_change();
    wc.now_ms = [this] { return now_ms; };
    watch = sys.spawn(org_watch, dir, db, wc);
    sched.run();
  }

  ~fixture() {
    for (auto& hdl : dir->all_orgs())
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    for (auto a : {watch, caf::actor_cast<caf::actor>(writer), db})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
    std::filesystem::remove_all(tmp);
  }

  /// A hold on the org, spawned from storage as the gateway does.
  org_hold hold(int64_t now_s) {
    auto h = dir->hold_or_spawn(org.id, now_s, [&]() -> org_actor {
      ++spawns;
      auto lease = pool.acquire();
      storage::store st{*lease};
      auto month = policy::month_of(now_s);
      org_snapshot snap{*st.find_org(org.id),
                        st.load_org_keys(org.id),
                        st.list_providers(org.id),
                        st.list_price_overrides(org.id),
                        st.list_teams(org.id),
                        st.list_apps(org.id),
                        st.load_month_usage(org.id, month),
                        month};
      metrics->org_actor_started();
      return sys.spawn(org_actor_impl, std::move(snap),
                       org_links{dir, db, writer, secrets, metrics});
    });
    // A fresh actor publishes its view when it first runs.
    sched.run();
    if (h && !h.view)
      h.view = dir->view_of(org.id);
    return h;
  }

  /// Authorizes from the published view, as the I/O threads do; a grant
  /// keeps its hold.
  std::pair<authorization, org_hold> request(const std::string& key,
                                             int64_t now_s) {
    auto h = hold(now_s);
    CAF_REQUIRE(h && h.view);
    proxy_request req;
    req.key_hash = policy::key_hash(key);
    req.path = "/v1/chat/completions";
    req.model = "gpt-4o";
    req.max_tokens = 10;
    req.now_s = now_s;
    req.now_ms = now_s * 1000;
    auto a = authorize(*h.view, req);
    if (!a.ok)
      h.release();
    return {a, h};
  }

  /// Settles a grant with `tokens` output tokens, as the gateway does: the
  /// log entry waits in the writer's inbox, then the hold goes.
  void settle(std::pair<authorization, org_hold>& r, int64_t now_s,
              int64_t tokens) {
    auto& a = r.first;
    settlement s;
    s.log.id = policy::uuid_v7(now_s * 1000);
    s.log.org_id = org.id;
    s.log.key_id = a.permit.key_id;
    s.log.team_id = a.permit.team_id;
    s.log.provider = "openai";
    s.log.model = "gpt-4o";
    s.log.status = 200;
    s.log.tokens_out = tokens;
    s.log.created_at = policy::rfc3339_ms(now_s * 1000);
    s.reserved_micros = a.permit.reserved_micros;
    s.ledger = a.permit.ledger;
    auto h = dir->held(org.id);
    inbox->push(settle_exchange(*h.view, std::move(s), metrics.get()));
    r.second.release();
  }

  /// Runs the idle sweep at `now_s`.
  void sweep(int64_t now_s) {
    now_ms = now_s * 1000;
    self->send(watch, sweep_atom_v);
    sched.run();
  }

  /// Spend of the team in storage this month.
  int64_t stored_spend() {
    auto lease = pool.acquire();
    for (auto& u : storage::store{*lease}.load_month_usage(
           org.id, policy::month_of(t0)))
      if (u.scope_type == "team" && u.scope_id == team_id)
        return u.cost_micros;
    return 0;
  }

  /// The team ledger of the live view.
  const team_ledger& ledger() {
    auto v = dir->view_of(org.id);
    CAF_REQUIRE(v);
    return *v->teams.at(team_id).ledger;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(passivation_tests, fixture)

CAF_TEST(an idle org passivates and comes back with its spend) {
  for (int i = 0; i < 3; ++i) {
    auto r = request(raw, t0);
    CAF_REQUIRE(r.first.ok);
    settle(r, t0, 10);
  }
  CAF_CHECK_EQUAL(ledger().spent.load(), 30 * micros_per_token);
  // The settled spend is still in the writer's inbox, not in storage.
  CAF_CHECK_EQUAL(stored_spend(), 0);
  CAF_CHECK_EQUAL(dir->live_orgs(), 1u);
  // Not idle long enough yet.
  sweep(t0 + idle_s - 1);
  CAF_CHECK_EQUAL(dir->live_orgs(), 1u);
  sweep(t0 + idle_s + 1);
  CAF_CHECK_EQUAL(dir->live_orgs(), 0u);
  CAF_CHECK(!dir->find_org(org.id));
  CAF_CHECK(!dir->view_of(org.id));
  // The writer committed it before the actor went.
  CAF_CHECK_EQUAL(stored_spend(), 30 * micros_per_token);
  // The keys stay known; the next request spawns the org again.
  CAF_CHECK(dir->org_of_key(policy::key_hash(raw)));
  auto r = request(raw, t0 + 100);
  CAF_REQUIRE(r.first.ok);
  CAF_CHECK_EQUAL(spawns, 2);
  CAF_CHECK_EQUAL(ledger().spent.load(), 30 * micros_per_token);
  CAF_CHECK_EQUAL(ledger().committed.load(),
                  30 * micros_per_token + r.first.permit.reserved_micros);
  settle(r, t0 + 100, 10);
  CAF_CHECK_EQUAL(ledger().spent.load(), 40 * micros_per_token);
}

CAF_TEST(the budget stays exact across passivations) {
  int admitted = 0;
  for (int round = 0; round < 4; ++round) {
    auto now = t0 + round * 1000;
    for (int i = 0; i < 3; ++i) {
      auto r = request(raw, now);
      if (!r.first.ok)
        continue;
      ++admitted;
      settle(r, now, 10);
    }
    sweep(now + idle_s + 1);
    CAF_CHECK_EQUAL(dir->live_orgs(), 0u);
  }
  // Ten requests of 10 000 micro-dollars fill the budget of 100 000: the
  // eleventh and twelfth are refused although the org passivated between.
  CAF_CHECK_EQUAL(admitted, 10);
  CAF_CHECK_EQUAL(stored_spend(), 100 * micros_per_token);
}

CAF_TEST(no passivation while a request is in flight) {
  auto r = request(raw, t0);
  CAF_REQUIRE(r.first.ok);
  sweep(t0 + idle_s + 1);
  CAF_CHECK_EQUAL(dir->live_orgs(), 1u);
  sweep(t0 + 10 * idle_s);
  CAF_CHECK_EQUAL(dir->live_orgs(), 1u);
  settle(r, t0 + 10 * idle_s, 10);
  // Released just now, but its last use is old: it may go.
  sweep(t0 + 10 * idle_s + 1);
  CAF_CHECK_EQUAL(dir->live_orgs(), 0u);
  CAF_CHECK_EQUAL(stored_spend(), 10 * micros_per_token);
  hold(t0 + 20 * idle_s).release();
  CAF_CHECK_EQUAL(ledger().spent.load(), 10 * micros_per_token);
  CAF_CHECK_EQUAL(ledger().committed.load(), 10 * micros_per_token);
}

CAF_TEST(a use between the sweep and the retirement keeps the actor) {
  hold(t0).release();
  auto idle = dir->idle_orgs(t0 + 1);
  CAF_REQUIRE_EQUAL(idle.size(), 1u);
  auto uses = idle.front().uses;
  // A request comes and goes after the sweep looked.
  hold(t0).release();
  CAF_CHECK(!dir->retire(org.id, idle.front().hdl, uses));
  CAF_CHECK(dir->retire(org.id, idle.front().hdl, uses + 1));
  caf::anon_send_exit(idle.front().hdl, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(rate limits must be at rest before an org passivates) {
  auto r = request(limited_raw, t0);
  CAF_REQUIRE(r.first.ok);
  settle(r, t0, 1);
  // Sixty a minute: the request's slot is taken until t0 + 1 s. With an
  // idle timeout shorter than that, the actor must stay.
  now_ms = (t0 + idle_s + 1) * 1000;
  auto idle = dir->idle_orgs(t0 + idle_s);
  CAF_REQUIRE_EQUAL(idle.size(), 1u);
  self->send(idle.front().hdl, passivate_atom_v, idle.front().uses,
             int64_t{t0 * 1000});
  sched.run();
  CAF_CHECK_EQUAL(dir->live_orgs(), 1u);
  sweep(t0 + idle_s + 1);
  CAF_CHECK_EQUAL(dir->live_orgs(), 0u);
}

CAF_TEST(the idle sweep runs on the single timer of the watch) {
  hold(t0).release();
  // One timer in the whole system: the watch's (the writer's is idle and
  // the org actor has none).
  now_ms = (t0 + idle_s + 1) * 1000;
  for (int i = 0; i < 2 * idle_s && dir->live_orgs() > 0; ++i) {
    CAF_REQUIRE(sched.trigger_timeout());
    sched.run();
  }
  CAF_CHECK_EQUAL(dir->live_orgs(), 0u);
}

CAF_TEST(a change logged outside the node reaches the live actor) {
  hold(t0).release();
  CAF_CHECK_EQUAL(dir->view_of(org.id)->org.plan, "enterprise");
  {
    // What `gatehouse admin set-plan` does while the node runs.
    auto lease = pool.acquire();
    storage::store{*lease}.set_org_plan(
      org.id, "free", testing::audit_entry(org.id, "org.plan", t0));
  }
  CAF_CHECK_EQUAL(dir->view_of(org.id)->org.plan, "enterprise");
  // The watch's next tick reads the log and tells the actor.
  CAF_REQUIRE(sched.trigger_timeout());
  sched.run();
  CAF_CHECK_EQUAL(dir->view_of(org.id)->org.plan, "free");
  // A passivated org needs no message: it reads its row when it returns.
  sweep(t0 + idle_s + 1);
  CAF_REQUIRE_EQUAL(dir->live_orgs(), 0u);
  {
    auto lease = pool.acquire();
    storage::store{*lease}.set_org_plan(
      org.id, "enterprise", testing::audit_entry(org.id, "org.plan", t0));
  }
  CAF_REQUIRE(sched.trigger_timeout());
  sched.run();
  hold(t0 + 100).release();
  CAF_CHECK_EQUAL(dir->view_of(org.id)->org.plan, "enterprise");
}

CAF_TEST(the change log is read from where the node started) {
  auto lease = pool.acquire();
  storage::store st{*lease};
  auto first = st.last_org_change();
  st.set_org_plan(org.id, "free", testing::audit_entry(org.id, "org.plan", t0));
  auto org2 = org;
  org2.name = "Renamed";
  st.update_org(org2, testing::audit_entry(org.id, "org.update", t0));
  auto changes = st.org_changes_after(first, 10);
  CAF_REQUIRE_EQUAL(changes.size(), 2u);
  CAF_CHECK_EQUAL(changes[0].seq + 1, changes[1].seq);
  CAF_CHECK_EQUAL(changes[1].org_id, org.id);
  CAF_CHECK_EQUAL(st.last_org_change(), changes[1].seq);
  CAF_CHECK_EQUAL(st.prune_org_changes(policy::rfc3339(t0 + 1)),
                  static_cast<int64_t>(first + 2));
  CAF_CHECK(st.org_changes_after(0, 10).empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
