#define CAF_SUITE storage_writer

#include "actors/storage_writer.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <caf/test/dsl.hpp>

#include "actors/metrics.hpp"
#include "policy/api_key.hpp"
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

constexpr int64_t t0 = 1'800'000'000; // a fixed "now"

/// Storage workers that are up or down as the test says: down, a job fails
/// the way it does when the database cannot be reached.
caf::behavior switchable_storage(caf::event_based_actor*,
                                 storage::connection_pool* pool,
                                 std::shared_ptr<bool> down) {
  return {
    [=](db_job& job) -> caf::result<bool> {
      if (*down)
        return to_error(policy::make_problem(policy::errc::internal_error,
                                             "storage failure"));
      auto lease = pool->acquire();
      storage::store st{*lease};
      job.run(st);
      return true;
    },
  };
}

struct fixture : test_coordinator_fixture<> {
  std::string dir = testing::temp_dir();
  storage::connection_pool pool{"sqlite://" + dir + "/t.db", 2};
  std::shared_ptr<bool> down = std::make_shared<bool>(false);
  std::shared_ptr<metrics_registry> metrics
    = std::make_shared<metrics_registry>();
  storage::org_record org;
  caf::actor db;
  storage_writer_actor writer;
  std::string month = policy::rfc3339(t0).substr(0, 7);

  fixture() {
    auto lease = pool.acquire();
    storage::migrate(*lease);
    storage::store st{*lease};
    org = testing::seed_org(st, "free", policy::generate_api_key(), t0);
    db = sys.spawn(switchable_storage, &pool, down);
    writer = sys.spawn(storage_writer_impl, db, nullptr, metrics);
    sched.run();
  }

  ~fixture() {
    for (auto a : {caf::actor_cast<caf::actor>(writer), db})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
    std::filesystem::remove_all(dir);
  }

  /// An entry counting one request of app "app-1".
  log_entry entry(const std::string& id) {
    log_entry e;
    e.log.id = id;
    e.log.org_id = org.id;
    e.log.request_id = "req-" + id;
    e.log.provider = "openai";
    e.log.model = "gpt-4o-mini";
    e.log.method = "POST";
    e.log.path = "/v1/chat/completions";
    e.log.status = 200;
    e.log.cost_micros = 7;
    e.log.created_at = policy::rfc3339_ms(t0 * 1000);
    e.deltas.push_back({org.id, "app", "app-1", month, 1, 0, 0, 7});
    return e;
  }

  bool flush() {
    auto rh = self->request(writer, caf::infinite, flush_atom_v);
    sched.run();
    bool out = false;
    rh.receive([&](bool ok) { out = ok; },
               [&](caf::error& e) { CAF_FAIL("flush failed: " << e); });
    return out;
  }

  size_t stored_logs() {
    auto lease = pool.acquire();
    storage::store st{*lease};
    return st.query_logs(org.id, {}, std::nullopt, 100).logs.size();
  }

  int64_t counted_requests() {
    auto lease = pool.acquire();
    storage::store st{*lease};
    int64_t n = 0;
    for (auto& u : st.load_month_usage(org.id, month))
      n += u.requests;
    return n;
  }

  bool metric_is(const std::string& sample) {
    return metrics->render(std::nullopt).find(sample + "\n")
           != std::string::npos;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(storage_writer_tests, fixture)

CAF_TEST(an entry the database refuses is dropped and the rest commits) {
  {
    auto lease = pool.acquire();
    storage::store st{*lease};
    st.write_batch({entry("taken").log}, {}, {});
  }
  for (auto id : {"a", "b", "taken", "c", "d"})
    caf::anon_send(writer, log_atom_v, entry(id));
  sched.run();
  CAF_CHECK(flush());
  // The earlier "taken" and four of the five new entries.
  CAF_CHECK_EQUAL(stored_logs(), 5u);
  CAF_CHECK_EQUAL(counted_requests(), 4);
  CAF_CHECK(
    metric_is(R"(gatehouse_log_entries_dropped_total{reason="invalid"} 1)"));
  CAF_CHECK(
    metric_is(R"(gatehouse_log_entries_dropped_total{reason="backlog"} 0)"));
  CAF_CHECK(metric_is("gatehouse_log_write_failures_total 0"));
  CAF_CHECK(metric_is("gatehouse_log_entries_written_total 4"));
  CAF_CHECK(metric_is("gatehouse_log_backlog 0"));
  // The writer goes on as before.
  caf::anon_send(writer, log_atom_v, entry("e"));
  sched.run();
  CAF_CHECK(flush());
  CAF_CHECK_EQUAL(stored_logs(), 6u);
}

CAF_TEST(entries wait while storage is unreachable and none is dropped) {
  *down = true;
  for (auto id : {"a", "b", "c"})
    caf::anon_send(writer, log_atom_v, entry(id));
  sched.run();
  CAF_CHECK(!flush());
  caf::anon_send(writer, log_atom_v, entry("d"));
  sched.run();
  CAF_CHECK(!flush());
  CAF_CHECK_EQUAL(stored_logs(), 0u);
  CAF_CHECK(metric_is("gatehouse_log_write_failures_total 2"));
  CAF_CHECK(metric_is("gatehouse_log_backlog 4"));
  CAF_CHECK(metric_is("gatehouse_log_entries_written_total 0"));
  CAF_CHECK(
    metric_is(R"(gatehouse_log_entries_dropped_total{reason="invalid"} 0)"));
  *down = false;
  CAF_CHECK(flush());
  CAF_CHECK_EQUAL(stored_logs(), 4u);
  CAF_CHECK_EQUAL(counted_requests(), 4);
  CAF_CHECK(metric_is("gatehouse_log_write_failures_total 2"));
  CAF_CHECK(metric_is("gatehouse_log_backlog 0"));
  CAF_CHECK(metric_is("gatehouse_log_entries_written_total 4"));
}

CAF_TEST(the retry tick tries again on its own) {
  *down = true;
  caf::anon_send(writer, log_atom_v, entry("a"));
  sched.run();
  // The group commit interval passes: the first attempt fails.
  sched.trigger_timeouts();
  sched.run();
  CAF_CHECK(metric_is("gatehouse_log_write_failures_total 1"));
  *down = false;
  // The retry, after a longer wait, succeeds.
  sched.trigger_timeouts();
  sched.run();
  CAF_CHECK_EQUAL(stored_logs(), 1u);
  CAF_CHECK(metric_is("gatehouse_log_write_failures_total 1"));
}

CAF_TEST_FIXTURE_SCOPE_END()

// The log worker, on a real actor system (it runs detached).
CAF_TEST(the log worker keeps one connection for all its jobs) {
  auto dir = testing::temp_dir();
  {
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    storage::connection_pool pool{"sqlite://" + dir + "/w.db", 2};
    {
      auto lease = pool.acquire();
      storage::migrate(*lease);
    }
    // Idle after 50 ms: the test sees it free its cache between jobs.
    auto worker = spawn_log_worker(sys, pool, 4, std::chrono::milliseconds(50));
    caf::scoped_actor self{sys};
    int ran = 0;
    auto run = [&] {
      bool ok = false;
      self
        ->request(worker, std::chrono::seconds(5),
                  db_job{[&](storage::store& st) {
                    st.load_key_index(0);
                    ++ran;
                  }})
        .receive([&](bool) { ok = true; },
                 [&](caf::error& e) { CAF_FAIL("job failed: " << e); });
      return ok;
    };
    CAF_CHECK(run());
    // The worker holds one of the two connections: the other is free...
    auto other = pool.try_acquire_for(std::chrono::milliseconds(0));
    CAF_REQUIRE(other.has_value());
    CAF_CHECK(!pool.try_acquire_for(std::chrono::milliseconds(0)));
    // ...and its jobs run while nobody else can get one.
    CAF_CHECK(run());
    // Idle long enough to free its cache (twice the idle time at most),
    // it still works on the same connection.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    CAF_CHECK(run());
    CAF_CHECK_EQUAL(ran, 3);
    other.reset();
    // Stopped, it gives its connection back.
    caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
    auto again = pool.try_acquire_for(std::chrono::seconds(5));
    CAF_CHECK(again.has_value());
    auto last = pool.try_acquire_for(std::chrono::seconds(5));
    CAF_CHECK(last.has_value());
  }
  std::filesystem::remove_all(dir);
}
