#define CAF_SUITE lease

// Team budgets and key rates across two cluster members, deterministic: the
// org's home and one other member, each with its own org actor, directory,
// member list and routes, in one actor system whose "network" is a router
// actor per node that hands lease messages to that node's org actor.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <caf/test/dsl.hpp>

#include "actors/cluster.hpp"
#include "actors/cluster_routes.hpp"
#include "actors/directory.hpp"
#include "actors/org_actor.hpp"
#include "actors/storage_worker.hpp"
#include "actors/storage_writer.hpp"
#include "policy/api_key.hpp"
#include "policy/crypto.hpp"
#include "policy/ids.hpp"
#include "policy/rendezvous.hpp"
#include "policy/time.hpp"
#include "storage/migrations.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"
#include "test_support.hpp"

using namespace gatehouse;
using namespace gatehouse::actors;

namespace {

constexpr int64_t january = 1'801'439'000;
// Output at $1000 per million tokens: a request of max_tokens 10 is
// estimated at 10,000 micro-dollars.
constexpr int64_t estimate = 10'000;

/// What a node's membership actor does with lease messages: hands them to
/// the node's org actor (or, for a collect without one, answers empty).
caf::behavior router(caf::event_based_actor*, std::shared_ptr<org_actor> org,
                     std::string node_id) {
  return {
    [=](lease_ask_atom, lease_ask& ask, caf::actor& reply_to) {
      caf::anon_send(*org, lease_ask_atom_v, std::move(ask),
                     std::move(reply_to));
    },
    [=](lease_collect_atom, std::string&, std::string& month,
        std::string& home, caf::actor& reply_to) {
      if (*org)
        caf::anon_send(*org, lease_collect_atom_v, month, home,
                       std::move(reply_to));
      else
        caf::anon_send(caf::actor_cast<org_actor>(reply_to),
                       lease_collected_atom_v,
                       lease_collected{month, node_id, {}, {}});
    },
  };
}

/// One member of the two.
struct node {
  std::string id;
  std::shared_ptr<cluster_view> view;
  std::shared_ptr<cluster_routes> routes = std::make_shared<cluster_routes>();
  std::shared_ptr<org_actor> org = std::make_shared<org_actor>();
  caf::actor router;
};

struct fixture : test_coordinator_fixture<>, testing::scratch_db {
  std::string raw = policy::generate_api_key();
  std::string limited_raw = policy::generate_api_key();
  std::string team_id = policy::uuid_v4();
  storage::org_record org;
  caf::actor db;
  storage_writer_actor writer;
  node home;
  node member;

  fixture() {
    auto lease = pool.acquire();
    storage::store st{*lease};
    org = testing::seed_org(st, "enterprise", policy::generate_api_key(),
                            january);
    // Name the two nodes so that the first is the org's home.
    std::vector<std::string> ids{"gh-a", "gh-b"};
    home.id = policy::home_node(ids, org.id);
    member.id = home.id == "gh-a" ? "gh-b" : "gh-a";
    for (auto* n : {&home, &member}) {
      n->view = std::make_shared<cluster_view>(n->id, n->id + ":7400", true);
      n->routes->set_self(sys.node());
      n->router = sys.spawn(router, n->org, n->id);
    }
    for (auto [a, b] : {std::pair{&home, &member}, std::pair{&member, &home}}) {
      a->view->publish({{b->id, b->id + ":7400", member_state::up}},
                       member_state::up);
      a->routes->add(b->id, b->router);
    }
    db = sys.spawn(storage_worker, &pool);
    writer = sys.spawn(storage_writer_impl, db, nullptr, nullptr);
  }

  ~fixture() {
    for (auto* n : {&home, &member}) {
      caf::anon_send_exit(*n->org, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(n->router, caf::exit_reason::user_shutdown);
    }
    for (auto a : {caf::actor_cast<caf::actor>(writer), db})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Adds a team capped at `requests` estimates, a key of it and a key
  /// limited to `rpm` requests a minute; spawns both org actors (the
  /// member first, so that the home's collect finds it).
  void start(int64_t requests, int rpm = 6) {
    auto lease = pool.acquire();
    storage::store st{*lease};
    storage::team_record team;
    team.id = team_id;
    team.org_id = org.id;
    team.name = "core";
    team.monthly_spend_limit_micros = requests * estimate;
    team.created_at = policy::rfc3339(january);
    st.insert_team(team);
    auto k = testing::key_for(raw, org.id, january);
    k.team_id = team_id;
    st.insert_key(k, testing::audit_entry(org.id, "key.create", january));
    auto r = testing::key_for(limited_raw, org.id, january);
    r.rate_limit_rpm = rpm;
    st.insert_key(r, testing::audit_entry(org.id, "key.create", january));
    for (auto* n : {&member, &home}) {
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
      *n->org = sys.spawn(org_actor_impl, snap,
                          org_links{std::make_shared<directory>(), db, writer,
                                    secrets, nullptr, n->view, n->routes});
      sched.run();
    }
  }

  /// Authorizes a request of `key` (max_tokens 10) at `now_s` (0: the
  /// clock's time) on node `n` the way the I/O thread's slow path does, and
  /// runs the system until it is decided.
  authorization ask(node& n, const std::string& key = {},
                    int64_t now_s = january) {
    proxy_request req;
    req.key_hash = policy::key_hash(key.empty() ? raw : key);
    req.path = "/v1/chat/completions";
    req.model = "gpt-4o";
    req.max_tokens = 10;
    req.now_s = now_s;
    req.now_ms = now_s * 1000;
    if (now_s == 0) {
      req.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      req.now_s = req.now_ms / 1000;
    }
    auto out = std::make_shared<std::optional<authorization>>();
    caf::anon_send(*n.org, authorize_atom_v, req,
                   auth_reply{[out](authorization a) { *out = std::move(a); }});
    sched.run();
    CAF_REQUIRE(out->has_value());
    return std::move(**out);
  }

  /// How many of `n` requests on node `where` pass.
  int admitted(node& where, int n, const std::string& key = {},
               int64_t now_s = january) {
    int ok = 0;
    for (int i = 0; i < n; ++i)
      if (ask(where, key, now_s).ok)
        ++ok;
    return ok;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(lease_tests, fixture)

CAF_TEST(near the cap the two members together admit exactly the cap) {
  start(10);
  // Alternating between the nodes: every grant is one request's estimate
  // (near the cap), so the member never holds budget the home lacks.
  int ok = 0;
  for (int i = 0; i < 16; ++i)
    if (ask(i % 2 == 0 ? member : home).ok)
      ++ok;
  CAF_CHECK_EQUAL(ok, 10);
  auto a = ask(member);
  CAF_CHECK(!a.ok);
  CAF_CHECK(a.denial.code == policy::errc::budget_exceeded);
  CAF_CHECK(!a.deferred);
}

CAF_TEST(far from the cap a member leases a slice and the home calls it back) {
  // 600 requests: 600 / (4 slices x 2 members) = 75 >= the slice of 64, so
  // the member's first ask gets a whole slice.
  start(600);
  CAF_CHECK(ask(member).ok);
  // The member holds 63 more requests' worth. The home admits what is left
  // (536), then calls the member's rest back and admits that too.
  CAF_CHECK_EQUAL(admitted(home, 599), 599);
  CAF_CHECK(!ask(home).ok);
  // The member's lease went back: it must ask, and is refused.
  auto a = ask(member);
  CAF_CHECK(!a.ok);
  CAF_CHECK(a.denial.code == policy::errc::budget_exceeded);
}

CAF_TEST(a key rate limit is decided by the home for both members) {
  start(1000, 6);
  // The home answers members by its own clock (one clock for the key, the
  // members' may differ): these requests are sent now.
  int64_t now = 0;
  // A rested key of 6 a minute: a burst of 6, wherever it lands.
  int ok = admitted(member, 4, limited_raw, now)
           + admitted(home, 4, limited_raw, now);
  CAF_CHECK_EQUAL(ok, 6);
  auto a = ask(member, limited_raw, now);
  CAF_CHECK(!a.ok);
  CAF_CHECK(a.denial.code == policy::errc::rate_limited);
  CAF_CHECK(a.denial.retry_after_s.value_or(0) >= 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
