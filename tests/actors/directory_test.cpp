#define CAF_SUITE directory

#include "actors/directory.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/test/dsl.hpp>

#include "storage/records.hpp"

using namespace gatehouse;
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

CAF_TEST(keys are found until removed whatever the order) {
  // Hex SHA-256-like hashes from a fixed generator: at the tables' load,
  // probe runs form, and removals shift entries back into them.
  std::mt19937_64 rng{7};
  auto hex = [&] {
    static const char digits[] = "0123456789abcdef";
    std::string h(64, '0');
    for (auto& c : h)
      c = digits[rng() % 16];
    return h;
  };
  std::vector<std::string> hashes;
  for (int i = 0; i < 20000; ++i)
    hashes.push_back(hex());
  for (int i = 0; i < 20; ++i)
    hashes.push_back("not-a-hex-hash-" + std::to_string(i));
  for (std::size_t i = 0; i < hashes.size(); ++i)
    dir.add_key(hashes[i], "org-" + std::to_string(i % 97));
  CAF_CHECK_EQUAL(dir.key_count(), hashes.size());
  // Every other key goes; the rest stay found, with their orgs.
  for (std::size_t i = 0; i < hashes.size(); i += 2)
    dir.remove_key(hashes[i]);
  CAF_CHECK_EQUAL(dir.key_count(), hashes.size() / 2);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    auto org = dir.org_of_key(hashes[i]);
    if (i % 2 == 0 ? org.has_value() : org != "org-" + std::to_string(i % 97))
      ++wrong;
  }
  CAF_CHECK_EQUAL(wrong, 0u);
  // Adding a known key again moves it to the new org.
  dir.add_key(hashes[1], "org-moved");
  CAF_CHECK_EQUAL(dir.org_of_key(hashes[1]), "org-moved");
  CAF_CHECK_EQUAL(dir.key_count(), hashes.size() / 2);
  CAF_CHECK(!dir.org_of_key(hex()));
}

CAF_TEST(bulk adds from several threads equal single adds) {
  std::mt19937_64 rng{11};
  std::vector<std::vector<storage::key_index_entry>> parts(3);
  directory one_by_one;
  for (int i = 0; i < 30000; ++i) {
    std::string h(64, '0');
    for (auto& c : h)
      c = "0123456789abcdef"[rng() % 16];
    if (i % 1000 == 0)
      h = "plain-" + std::to_string(i);
    storage::key_index_entry e{h, "org-" + std::to_string(i % 1000)};
    one_by_one.add_key(e.key_hash, e.org_id);
    parts[i % 3].push_back(std::move(e));
  }
  std::vector<std::thread> threads;
  for (auto& p : parts)
    threads.emplace_back([&] { dir.add_keys(p, 30000); });
  for (auto& t : threads)
    t.join();
  CAF_CHECK_EQUAL(dir.key_count(), one_by_one.key_count());
  std::size_t wrong = 0;
  for (auto& p : parts)
    for (auto& e : p)
      if (dir.org_of_key(e.key_hash) != e.org_id
          || one_by_one.org_of_key(e.key_hash) != e.org_id)
        ++wrong;
  CAF_CHECK_EQUAL(wrong, 0u);
}

CAF_TEST(org ids come back as they were given) {
  // UUIDs (kept in binary), other ids and ids that only look like UUIDs.
  std::vector<std::string> orgs;
  for (int i = 0; i < 5000; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", i * 7919, i);
    orgs.emplace_back(id);
  }
  orgs.push_back("ABCDEF01-0000-4000-8000-000000000001"); // upper case
  orgs.push_back("abcdef01-0000-4000-8000-00000000000g"); // not hex
  orgs.push_back("org-plain");
  std::vector<storage::key_index_entry> index;
  for (std::size_t i = 0; i < orgs.size(); ++i)
    index.push_back({"key-" + std::to_string(i), orgs[i]});
  dir.add_keys(index);
  dir.add_key("one-more", orgs[17]);
  std::size_t wrong = 0;
  for (auto& e : index)
    if (dir.org_of_key(e.key_hash) != e.org_id)
      ++wrong;
  CAF_CHECK_EQUAL(wrong, 0u);
  CAF_CHECK_EQUAL(dir.org_of_key("one-more"), orgs[17]);
}

CAF_TEST_FIXTURE_SCOPE_END()
