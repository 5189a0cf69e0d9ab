#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/database.hpp"
#include "storage/pool.hpp"
#include "tests/storage/backend_fixture.hpp"

namespace gatehouse::storage {
namespace {

using namespace std::chrono_literals;

class PoolTest : public testing::backend_test {};

GH_INSTANTIATE_BACKEND_SUITE(PoolTest);

TEST_P(PoolTest, LeasesAreExclusiveAndComeBack) {
  connection_pool pool(url(), 1);
  EXPECT_EQ(pool.size(), 1u);
  database* first = nullptr;
  {
    auto lease = pool.acquire();
    first = &*lease;
    EXPECT_EQ(lease->exec("SELECT 1").size(), 1u);
    EXPECT_FALSE(pool.try_acquire_for(20ms).has_value());
  }
  auto again = pool.try_acquire_for(20ms);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(&**again, first);
}

TEST_P(PoolTest, AcquireWaitsForARelease) {
  connection_pool pool(url(), 1);
  auto held = std::make_unique<connection_pool::lease>(pool.acquire());
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto lease = pool.acquire();
    got = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(got.load());
  held.reset();
  waiter.join();
  EXPECT_TRUE(got.load());
}

TEST_P(PoolTest, AReturnedLeaseRollsBackItsTransaction) {
  db().run_script("CREATE TABLE t (id TEXT PRIMARY KEY)");
  connection_pool pool(url(), 1);
  {
    auto lease = pool.acquire();
    lease->begin();
    lease->exec("INSERT INTO t (id) VALUES ($1)", {"x"});
  }
  auto lease = pool.acquire();
  EXPECT_FALSE(lease->in_transaction());
  EXPECT_EQ(lease->exec("SELECT COUNT(*) FROM t")[0].int64(0), 0);
}

TEST_P(PoolTest, ThreadsShareThePool) {
  db().run_script("CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT)");
  connection_pool pool(url(), 2);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        try {
          auto lease = pool.acquire();
          transaction tx(*lease);
          lease->exec("INSERT INTO t (id, n) VALUES ($1, $2)",
                      {std::to_string(t) + "-" + std::to_string(i), i});
          tx.commit();
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db().exec("SELECT COUNT(*) FROM t")[0].int64(0), 80);
}

TEST_P(PoolTest, ABrokenConnectionIsReplaced) {
  connection_pool pool(url(), 1);
  if (postgres()) {
    auto lease = pool.acquire();
    EXPECT_THROW(lease->exec("SELECT pg_terminate_backend(pg_backend_pid())"),
                 storage_error);
    EXPECT_FALSE(lease->is_open());
  }
  auto lease = pool.acquire();
  EXPECT_TRUE(lease->is_open());
  EXPECT_EQ(lease->exec("SELECT 1").size(), 1u);
}

TEST_P(PoolTest, AnUnreachableDatabaseFailsAtConstruction) {
  std::string bad = postgres() ? "postgresql://postgres@127.0.0.1:1/none"
                               : "sqlite:///proc/gatehouse-no-such-dir/x.db";
  EXPECT_THROW(connection_pool(bad, 2), storage_error);
}

} // namespace
} // namespace gatehouse::storage
