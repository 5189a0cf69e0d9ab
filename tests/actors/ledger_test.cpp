#define CAF_SUITE ledger

#include "actors/ledger.hpp"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <caf/test/dsl.hpp>

#include "policy/key_rate_limit.hpp"

using namespace gatehouse;
using namespace gatehouse::actors;

namespace {

/// Runs `body(i)` on `threads` threads released at once; answers how many
/// calls returned true.
template <class Body>
int race(int threads, int calls_each, Body body) {
  std::atomic<bool> go{false};
  std::atomic<int> yes{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      while (!go.load())
        std::this_thread::yield();
      for (int i = 0; i < calls_each; ++i)
        if (body())
          ++yes;
    });
  go = true;
  for (auto& t : ts)
    t.join();
  return yes.load();
}

} // namespace

CAF_TEST(racing threads reserve exactly what the cap holds) {
  const int threads = std::max(4u, std::thread::hardware_concurrency());
  for (std::int64_t estimate : {1, 7, 1000, 10'000}) {
    for (std::int64_t cap : {estimate * 10 + estimate / 2, estimate * 64,
                             estimate * 100 - 1}) {
      team_ledger l("2026-12", cap);
      auto admitted =
        race(threads, 200, [&] { return l.reserve(estimate); });
      CAF_CHECK_EQUAL(admitted, cap / estimate);
      CAF_CHECK_EQUAL(l.committed.load(), (cap / estimate) * estimate);
    }
  }
}

CAF_TEST(the ledger admits by policy admits) {
  // Spend, in-flight estimates and the request against one limit.
  team_ledger l("2026-12", 100);
  CAF_CHECK(l.reserve(30));
  l.settle(30, 50); // spent 50, nothing in flight
  CAF_CHECK(l.reserve(20));  // 50 + 20
  CAF_CHECK(l.reserve(30));  // 50 + 20 + 30 == 100
  CAF_CHECK(!l.reserve(1));
  // Fully committed by in-flight estimates, spend below the limit: a
  // request estimated at nothing may start, as policy::admits says.
  CAF_CHECK(l.reserve(0));
  CAF_CHECK_EQUAL(policy::admits({100, 50, 50}, 0), true);
  l.settle(20, 20);
  l.settle(30, 30); // spent 100: the limit is reached
  CAF_CHECK(!l.reserve(0));
  team_ledger open("2026-12", team_ledger::no_limit);
  CAF_CHECK(open.reserve(std::int64_t{1} << 62));
  team_ledger zero("2026-12", 0);
  CAF_CHECK(!zero.reserve(0));
}

CAF_TEST(settlement races with admission without over admitting) {
  team_ledger l("2026-12", 1'000'000);
  std::atomic<bool> stop{false};
  // One thread settles reservations at twice their estimate while others
  // reserve: every admission still fitted the limit when it was made, and
  // nothing is admitted once the spend reached it.
  std::atomic<std::int64_t> pending{0};
  std::thread settler([&] {
    while (!stop.load()) {
      if (pending.load() > 0) {
        --pending;
        l.settle(100, 200);
      }
    }
  });
  auto admitted = race(3, 20'000, [&] {
    if (!l.reserve(100))
      return false;
    ++pending;
    return true;
  });
  while (pending.load() > 0)
    std::this_thread::yield();
  stop = true;
  settler.join();
  CAF_CHECK(admitted > 0);
  // Committed only grows here, by at least 100 an admission.
  CAF_CHECK(admitted <= 1'000'000 / 100);
  CAF_CHECK_EQUAL(l.committed.load(), l.spent.load());
  CAF_CHECK(!l.reserve(100));
  CAF_CHECK_EQUAL(l.spent.load(), 200 * admitted);
}

CAF_TEST(giving up the rest of a lease while threads admit from it) {
  // 8 threads admit 100 at a time from a lease of 100,000 while the rest
  // is given up: what was admitted plus what was given up is the lease.
  for (int round = 0; round < 20; ++round) {
    team_ledger l{"2026-12", 100'000};
    std::atomic<std::int64_t> rest{-1};
    std::thread giver([&] {
      std::this_thread::yield();
      rest = l.give_up_rest();
    });
    auto admitted = race(8, 200, [&] { return l.reserve(100); });
    giver.join();
    CAF_CHECK_EQUAL(admitted * 100 + rest.load(), 100'000);
    CAF_CHECK_EQUAL(l.limit.load(), l.committed.load());
    CAF_CHECK(!l.reserve(1));
  }
}

CAF_TEST(an overdrawn lease gives up a negative rest) {
  team_ledger l{"2026-12", 1'000};
  CAF_REQUIRE(l.reserve(1'000));
  l.settle(1'000, 1'500); // cost more than its estimate
  CAF_CHECK_EQUAL(l.give_up_rest(), -500);
  CAF_CHECK_EQUAL(l.limit.load(), 1'500);
}

CAF_TEST(a refill is asked once below the low water) {
  team_ledger l{"2026-12", 1'000};
  l.low_water = 250;
  CAF_REQUIRE(l.reserve(700));
  CAF_CHECK(!l.wants_refill());
  CAF_REQUIRE(l.reserve(100));
  CAF_CHECK(l.wants_refill());
  CAF_CHECK(!l.wants_refill());
  l.refill_asked = false;
  l.low_water = 0; // an exact grant: never ahead of time
  CAF_CHECK(!l.wants_refill());
}

CAF_TEST(racing threads pass exactly rpm requests of a rested key) {
  const int threads = std::max(4u, std::thread::hardware_concurrency());
  for (int rpm : {1, 7, 60, 1000}) {
    key_rate r;
    const std::int64_t now = 1'764'900'000'000;
    auto passed = race(threads, rpm, [&] {
      std::int64_t retry = 0;
      return r.hit(rpm, now, retry);
    });
    CAF_CHECK_EQUAL(passed, rpm);
    CAF_CHECK(!r.at_rest(rpm, now));
    CAF_CHECK(r.at_rest(rpm, now + 60'000));
  }
}

CAF_TEST(the key rate decides as the policy limiter) {
  // Same requests, same answers as policy::gcra_limiter, whose rule it is.
  for (int rpm : {1, 2, 7, 60, 61, 1000, 1'000'000}) {
    key_rate r;
    policy::gcra_limiter lim;
    std::int64_t t = 1'764'900'000'000;
    for (int i = 0; i < 3000; ++i) {
      t += (i * 7919) % (120'000 / rpm + 3);
      std::int64_t retry = 0;
      auto ok = r.hit(rpm, t, retry);
      auto d = lim.hit("k", rpm, t);
      CAF_REQUIRE_EQUAL(ok, d.allowed);
      if (!ok)
        CAF_REQUIRE_EQUAL(retry, d.retry_after_ms);
    }
  }
}

CAF_TEST(a key rate refuses a limit of zero) {
  key_rate r;
  std::int64_t retry = 0;
  CAF_CHECK(!r.hit(0, 1000, retry));
  CAF_CHECK_EQUAL(retry, 60'000);
  CAF_CHECK(r.at_rest(0, 1000));
}
