#define CAF_SUITE budget

#include <cstdlib>
#include <filesystem>

#include <caf/test/dsl.hpp>

#include "actors/directory.hpp"
#include "test_support.hpp"
#include "actors/org_actor.hpp"
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

using namespace gatehouse;
using namespace gatehouse::actors;

namespace {

// 2027-01-31T23:59:00Z and a minute later, in February.
constexpr int64_t january = 1'801'439'940;
constexpr int64_t february = january + 60;

// Output at $1000 per million tokens: 1000 micro-dollars per token.
constexpr int64_t micros_per_token = 1000;

struct fixture : test_coordinator_fixture<>, testing::scratch_db {
  std::string raw = policy::generate_api_key();
  std::string team_id = policy::uuid_v4();
  storage::org_record org;
  caf::actor db;
  storage_writer_actor writer;
  org_actor hdl;

  fixture() {
    auto lease = pool.acquire();
    storage::store st{*lease};
    org = testing::seed_org(st, "enterprise", policy::generate_api_key(),
                            january);
    storage::team_record team;
    team.id = team_id;
    team.org_id = org.id;
    team.name = "core";
    // Room for ten requests of ten output tokens, and a half.
    team.monthly_spend_limit_micros = 105 * micros_per_token;
    team.created_at = policy::rfc3339(january);
    st.insert_team(team);
    auto k = testing::key_for(raw, org.id, january);
    k.team_id = team_id;
    st.insert_key(k, testing::audit_entry(org.id, "key.create", january));
    spawn_org(st);
  }

  void spawn_org(storage::store& st) {
    auto p = testing::openai_provider(*secrets, org.id, january);
    auto month = policy::month_of(january);
    org_snapshot snap{org,
                      st.load_org_keys(org.id),
                      {p},
                      {storage::price_override{"gpt-4o", 0,
                                               1000 * 1'000'000}},
                      st.list_teams(org.id),
                      {},
                      st.load_month_usage(org.id, month),
                      month};
    if (!db) {
      db = sys.spawn(storage_worker, &pool);
      writer = sys.spawn(storage_writer_impl, db, nullptr, nullptr);
    }
    hdl = sys.spawn(org_actor_impl, snap,
                    org_links{std::make_shared<directory>(), db, writer,
                              secrets, nullptr});
    sched.run();
  }

  ~fixture() {
    for (auto a : {caf::actor_cast<caf::actor>(hdl),
                   caf::actor_cast<caf::actor>(writer), db})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Asks to send a request with max_tokens 10 at time `now`.
  authorization ask(int64_t now) {
    proxy_request req;
    req.key_hash = policy::key_hash(raw);
    req.path = "/v1/chat/completions";
    req.model = "gpt-4o";
    req.max_tokens = 10;
    req.now_s = now;
    req.now_ms = now * 1000;
    auto rh = self->request(hdl, caf::infinite, authorize_atom_v, req);
    sched.run();
    authorization out;
    rh.receive([&](authorization& a) { out = std::move(a); },
               [&](caf::error& e) { CAF_FAIL("authorize failed: " << e); });
    return out;
  }

  /// Reports the request done with `tokens` output tokens.
  void settle(const authorization& a, int64_t now, int64_t tokens) {
    settlement s;
    s.log.id = policy::uuid_v4();
    s.log.org_id = org.id;
    s.log.key_id = a.permit.key_id;
    s.log.team_id = a.permit.team_id;
    s.log.provider = "openai";
    s.log.model = "gpt-4o";
    s.log.status = 200;
    s.log.tokens_out = tokens;
    s.log.created_at = policy::rfc3339_ms(now * 1000);
    s.reserved_micros = a.permit.reserved_micros;
    s.ledger = a.permit.ledger;
    caf::anon_send(hdl, settle_atom_v, s);
    sched.run();
  }

  team_usage usage(int64_t now) {
    auto rh = self->request(hdl, caf::infinite, team_usage_atom_v, now);
    sched.run();
    team_usage out;
    rh.receive(
      [&](std::vector<team_usage>& xs) {
        for (auto& x : xs)
          if (x.team_id == team_id)
            out = x;
      },
      [&](caf::error& e) { CAF_FAIL("team usage failed: " << e); });
    return out;
  }

  void flush() {
    auto rh = self->request(writer, caf::infinite, flush_atom_v);
    sched.run();
    rh.receive([](bool) {}, [](caf::error& e) { CAF_FAIL(e); });
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(budget_tests, fixture)

CAF_TEST(in-flight estimates count against the cap) {
  std::vector<authorization> admitted;
  for (int i = 0; i < 12; ++i) {
    auto a = ask(january);
    if (a.ok)
      admitted.push_back(a);
    else
      CAF_CHECK(a.denial.code == policy::errc::budget_exceeded);
  }
  // Ten reservations of 10 000 micro-dollars fit in 105 000; the eleventh
  // would not, although nothing has been spent yet.
  CAF_CHECK_EQUAL(admitted.size(), 10u);
  CAF_CHECK_EQUAL(usage(january).in_flight_micros, 100 * micros_per_token);
  for (auto& a : admitted)
    settle(a, january, 10);
  auto u = usage(january);
  CAF_CHECK_EQUAL(u.in_flight_micros, 0);
  CAF_CHECK_EQUAL(u.spent_micros, 100 * micros_per_token);
  CAF_CHECK_EQUAL(u.requests, 10);
}

CAF_TEST(a refusal names the next month for retrying) {
  for (int i = 0; i < 10; ++i)
    settle(ask(january), january, 10);
  auto a = ask(january);
  CAF_REQUIRE(!a.ok);
  CAF_CHECK(a.denial.code == policy::errc::budget_exceeded);
  CAF_CHECK_EQUAL(a.denial.retry_after_s.value_or(-1), 60);
}

CAF_TEST(the counters roll over at the month boundary) {
  for (int i = 0; i < 10; ++i)
    settle(ask(january), january, 10);
  CAF_CHECK(!ask(january).ok);
  // One minute later it is February: a fresh budget.
  auto a = ask(february);
  CAF_CHECK(a.ok);
  CAF_CHECK_EQUAL(usage(february).spent_micros, 0);
  settle(a, february, 10);
  CAF_CHECK_EQUAL(usage(february).spent_micros, 10 * micros_per_token);
}

CAF_TEST(spend survives a restart of the org actor) {
  for (int i = 0; i < 10; ++i)
    settle(ask(january), january, 10);
  flush();
  caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  sched.run();
  auto lease = pool.acquire();
  storage::store st{*lease};
  spawn_org(st);
  CAF_CHECK_EQUAL(usage(january).spent_micros, 100 * micros_per_token);
  CAF_CHECK(!ask(january).ok);
}

CAF_TEST_FIXTURE_SCOPE_END()
