#include "policy/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace gatehouse::policy;

namespace {

constexpr long long minute = 60'000;
constexpr long long window = 15 * minute;

} // namespace

TEST(rate_limiter, eleventh_attempt_in_fifteen_minutes_is_denied) {
  sliding_window_limiter lim{10, window};
  long long t0 = 1'000'000;
  for (int i = 0; i < 10; ++i) {
    auto d = lim.hit("203.0.113.7", t0 + i * minute);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.retry_after_ms, 0);
  }
  auto d = lim.hit("203.0.113.7", t0 + 10 * minute);
  EXPECT_FALSE(d.allowed);
  // The first attempt (t0) leaves the window at t0 + 15 min.
  EXPECT_EQ(d.retry_after_ms, 5 * minute);
}

TEST(rate_limiter, clients_are_independent) {
  sliding_window_limiter lim{2, 1000};
  EXPECT_TRUE(lim.hit("a", 0).allowed);
  EXPECT_TRUE(lim.hit("a", 1).allowed);
  EXPECT_FALSE(lim.hit("a", 2).allowed);
  EXPECT_TRUE(lim.hit("b", 2).allowed);
  EXPECT_TRUE(lim.hit("b", 3).allowed);
  EXPECT_FALSE(lim.hit("b", 4).allowed);
}

TEST(rate_limiter, window_slides_one_event_at_a_time) {
  sliding_window_limiter lim{3, 1000};
  EXPECT_TRUE(lim.hit("c", 0).allowed);
  EXPECT_TRUE(lim.hit("c", 300).allowed);
  EXPECT_TRUE(lim.hit("c", 600).allowed);
  auto d = lim.hit("c", 999);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 1);
  // At 1000 the event at 0 has left (window is (now-1000, now]).
  EXPECT_TRUE(lim.hit("c", 1000).allowed);
  d = lim.hit("c", 1000);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 300);
  EXPECT_TRUE(lim.hit("c", 1300).allowed);
  EXPECT_FALSE(lim.hit("c", 1599).allowed);
  EXPECT_TRUE(lim.hit("c", 1600).allowed);
}

TEST(rate_limiter, denied_hits_are_not_recorded) {
  sliding_window_limiter lim{1, 1000};
  EXPECT_TRUE(lim.hit("d", 0).allowed);
  for (long long t = 1; t < 1000; t += 100) {
    auto d = lim.hit("d", t);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retry_after_ms, 1000 - t);
  }
  // Had the denied hits counted, the client would still be blocked.
  EXPECT_TRUE(lim.hit("d", 1000).allowed);
}

TEST(rate_limiter, a_long_pause_resets_everything) {
  sliding_window_limiter lim{10, window};
  for (int i = 0; i < 10; ++i)
    lim.hit("e", i);
  EXPECT_FALSE(lim.hit("e", 10).allowed);
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(lim.hit("e", window + 100 + i).allowed);
  EXPECT_FALSE(lim.hit("e", window + 200).allowed);
}

TEST(rate_limiter, clock_stepping_back_stays_safe) {
  sliding_window_limiter lim{2, 1000};
  EXPECT_TRUE(lim.hit("f", 5000).allowed);
  EXPECT_TRUE(lim.hit("f", 4000).allowed);
  auto d = lim.hit("f", 4000);
  EXPECT_FALSE(d.allowed);
  EXPECT_GE(d.retry_after_ms, 1);
  EXPECT_TRUE(lim.hit("f", 6000).allowed);
}

TEST(rate_limiter, prune_forgets_idle_clients) {
  sliding_window_limiter lim{5, 1000};
  lim.hit("old", 0);
  lim.hit("new", 900);
  EXPECT_EQ(lim.client_count(), 2u);
  lim.prune(500);
  EXPECT_EQ(lim.client_count(), 2u);
  lim.prune(1000);
  EXPECT_EQ(lim.client_count(), 1u);
  lim.prune(1900);
  EXPECT_EQ(lim.client_count(), 0u);
  EXPECT_TRUE(lim.hit("old", 2000).allowed);
}

TEST(rate_limiter, rejects_nonsense_configuration) {
  EXPECT_THROW(sliding_window_limiter(0, 1000), std::invalid_argument);
  EXPECT_THROW(sliding_window_limiter(5, 0), std::invalid_argument);
  sliding_window_limiter lim{10, window};
  EXPECT_EQ(lim.max_events(), 10);
  EXPECT_EQ(lim.window_ms(), window);
}

TEST(sliding_window_limiter, the_table_stays_bounded) {
  sliding_window_limiter l{10, 60'000, 100};
  for (int i = 0; i < 10'000; ++i)
    EXPECT_TRUE(l.hit("10.0." + std::to_string(i / 256) + "."
                        + std::to_string(i % 256),
                      1'000 + i)
                  .allowed);
  EXPECT_LE(l.client_count(), 100u);
}

TEST(sliding_window_limiter, idle_clients_go_first_when_full) {
  sliding_window_limiter l{2, 1'000, 2};
  EXPECT_TRUE(l.hit("a", 0).allowed);
  EXPECT_TRUE(l.hit("b", 5'000).allowed);
  EXPECT_TRUE(l.hit("b", 5'001).allowed);
  // "a" is idle: the prune makes room, and "b" keeps its count.
  EXPECT_TRUE(l.hit("c", 5'002).allowed);
  EXPECT_EQ(l.client_count(), 2u);
  EXPECT_FALSE(l.hit("b", 5'003).allowed);
}

TEST(limiter_client_key, ipv6_counts_by_64_ipv4_by_address) {
  EXPECT_EQ(limiter_client_key("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(limiter_client_key("2001:db8:1:2:aaaa::1"),
            limiter_client_key("2001:db8:1:2:bbbb::9"));
  EXPECT_NE(limiter_client_key("2001:db8:1:2::1"),
            limiter_client_key("2001:db8:1:3::1"));
  EXPECT_EQ(limiter_client_key("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(limiter_client_key("not an ip"), "not an ip");
}
