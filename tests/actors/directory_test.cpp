#define CAF_SUITE directory

#include "actors/directory.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include <caf/test/dsl.hpp>

using namespace gatehouse::actors;

namespace {

/// A real actor system (org actors are spawned from many threads at once,
/// which the test coordinator does not allow).
struct system_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  directory dir;

  /// A live handle standing in for an org actor.
  org_actor dummy() {
    auto hdl = sys.spawn(
      [](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; });
    return caf::actor_cast<org_actor>(hdl);
  }

  ~system_fixture() {
    for (auto& hdl : dir.all_orgs())
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(directory_tests, system_fixture)

CAF_TEST(concurrent first lookups of an org make one actor) {
  constexpr int callers = 16;
  std::atomic<int> makes{0};
  std::atomic<int> started{0};
  std::vector<org_actor> got(callers);
  auto make = [&]() -> org_actor {
    ++makes;
    // Hold the window open until every caller is on its way, and a while
    // longer, as a slow storage read after a restart would.
    while (started.load() < callers)
      std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return dummy();
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < callers; ++i)
    threads.emplace_back([&, i] {
      ++started;
      got[i] = dir.get_or_spawn("org-1", make);
    });
  for (auto& t : threads)
    t.join();
  CAF_CHECK_EQUAL(makes.load(), 1);
  CAF_REQUIRE(got[0]);
  for (auto& hdl : got)
    CAF_CHECK(hdl == got[0]);
  CAF_CHECK(dir.find_org("org-1") == got[0]);
  CAF_CHECK_EQUAL(dir.all_orgs().size(), 1u);
  // Later lookups find it without making another.
  CAF_CHECK(dir.get_or_spawn("org-1", make) == got[0]);
  CAF_CHECK_EQUAL(makes.load(), 1);
}

CAF_TEST(different orgs are made independently) {
  auto a = dir.get_or_spawn("org-a", [&] { return dummy(); });
  auto b = dir.get_or_spawn("org-b", [&] { return dummy(); });
  CAF_CHECK(a && b && a != b);
  CAF_CHECK_EQUAL(dir.all_orgs().size(), 2u);
}

CAF_TEST(a failed make leaves nothing behind and the next lookup tries again) {
  CAF_CHECK(!dir.get_or_spawn("unknown", [] { return org_actor{}; }));
  CAF_CHECK(!dir.find_org("unknown"));
  org_actor waited;
  std::thread waiter;
  try {
    dir.get_or_spawn("org-x", [&]() -> org_actor {
      waiter = std::thread(
        [&] { waited = dir.get_or_spawn("org-x", [&] { return dummy(); }); });
      // The second caller finds the marker and waits (or, scheduled late,
      // finds nothing and makes its own actor after this one failed).
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      throw std::runtime_error("storage failure");
    });
    CAF_FAIL("the exception did not reach the caller");
  } catch (const std::runtime_error&) {
  }
  waiter.join();
  if (waited)
    CAF_CHECK(dir.find_org("org-x") == waited);
  else
    CAF_CHECK(!dir.find_org("org-x"));
  auto again = dir.get_or_spawn("org-x", [&] { return dummy(); });
  CAF_CHECK(again);
  CAF_CHECK(dir.find_org("org-x") == again);
}

CAF_TEST_FIXTURE_SCOPE_END()
