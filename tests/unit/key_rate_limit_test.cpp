#include "policy/key_rate_limit.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse::policy;

namespace {

constexpr long long minute = 60'000;

// Sends `n` requests of `key` at `now_ms`, expecting all to pass.
void burst(gcra_limiter& lim, const std::string& key, int rpm, int n,
           long long now_ms) {
  for (int i = 0; i < n; ++i) {
    auto d = lim.hit(key, rpm, now_ms);
    ASSERT_TRUE(d.allowed) << key << " request " << i << " at " << now_ms;
    ASSERT_EQ(d.retry_after_ms, 0);
  }
}

} // namespace

TEST(key_rate_limit, exactly_rpm_requests_at_once_then_refused) {
  for (int rpm : {1, 2, 5, 60, 600}) {
    gcra_limiter lim;
    burst(lim, "k", rpm, rpm, 0);
    auto d = lim.hit("k", rpm, 0);
    EXPECT_FALSE(d.allowed) << rpm;
    EXPECT_EQ(d.retry_after_ms, minute / rpm) << rpm;
  }
}

TEST(key_rate_limit, retry_after_counts_down_to_the_next_slot) {
  gcra_limiter lim;
  burst(lim, "k", 60, 60, 0);
  auto d = lim.hit("k", 60, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 1000);
  d = lim.hit("k", 60, 400);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 600);
  d = lim.hit("k", 60, 999);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 1);
  EXPECT_TRUE(lim.hit("k", 60, 1000).allowed);
  d = lim.hit("k", 60, 1000);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 1000);
}

TEST(key_rate_limit, retry_after_is_exact_for_any_rpm) {
  for (int rpm : {1, 2, 3, 7, 11, 59, 60, 61, 999, 1000, 7001, 100'000}) {
    gcra_limiter lim;
    long long t = 5'000'000;
    burst(lim, "k", rpm, rpm, t);
    auto d = lim.hit("k", rpm, t);
    ASSERT_FALSE(d.allowed) << rpm;
    ASSERT_GE(d.retry_after_ms, 1) << rpm;
    // The slot opens after 60000 / rpm ms, rounded up to whole ms.
    EXPECT_EQ(d.retry_after_ms, (minute + rpm - 1) / rpm) << rpm;
    if (d.retry_after_ms > 1) {
      EXPECT_FALSE(lim.hit("k", rpm, t + d.retry_after_ms - 1).allowed) << rpm;
    }
    EXPECT_TRUE(lim.hit("k", rpm, t + d.retry_after_ms).allowed) << rpm;
  }
}

TEST(key_rate_limit, non_integral_interval_keeps_the_rate) {
  // 7 a minute is one every 8571.43 ms.
  gcra_limiter lim;
  burst(lim, "k", 7, 7, 0);
  EXPECT_FALSE(lim.hit("k", 7, 8571).allowed);
  EXPECT_TRUE(lim.hit("k", 7, 8572).allowed);
  // Seven more slots open over the next minute, not eight.
  int allowed = 0;
  for (long long t = 8573; t <= 8572 + minute; ++t)
    allowed += lim.hit("k", 7, t).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 7);
}

TEST(key_rate_limit, steady_rate_is_always_allowed) {
  gcra_limiter lim;
  for (long long i = 0; i < 1000; ++i)
    EXPECT_TRUE(lim.hit("k", 60, i * 1000).allowed) << i;
  // One a second is also allowed right after a full burst.
  burst(lim, "k", 60, 60, 1'000'000);
  for (long long i = 1; i <= 100; ++i)
    EXPECT_TRUE(lim.hit("k", 60, 1'000'000 + i * 1000).allowed) << i;
}

TEST(key_rate_limit, faster_than_the_rate_is_refused_after_the_burst) {
  // Every 900 ms at 60 a minute: each request adds 0.1 request of debt, so
  // after the first, 590 more fit in the burst of 60.
  gcra_limiter lim;
  int allowed = 0;
  long long first_denied = -1;
  for (long long i = 0; i < 700; ++i) {
    if (lim.hit("k", 60, i * 900).allowed)
      ++allowed;
    else if (first_denied < 0)
      first_denied = i;
  }
  EXPECT_EQ(first_denied, 591);
  // From then on, one in ten is refused: the key gets its 60 a minute.
  EXPECT_EQ(allowed, 591 + (700 - 591) * 9 / 10);
}

TEST(key_rate_limit, denied_hits_do_not_consume) {
  gcra_limiter lim;
  burst(lim, "k", 2, 2, 0);
  for (long long t = 0; t < 30'000; t += 100)
    ASSERT_FALSE(lim.hit("k", 2, t).allowed) << t;
  // The hammering did not push the next slot back.
  EXPECT_TRUE(lim.hit("k", 2, 30'000).allowed);
  EXPECT_FALSE(lim.hit("k", 2, 30'000).allowed);
}

TEST(key_rate_limit, idle_key_regains_its_full_burst) {
  gcra_limiter lim;
  burst(lim, "k", 10, 10, 0);
  EXPECT_FALSE(lim.hit("k", 10, 0).allowed);
  // After half a minute only half of the burst is back.
  burst(lim, "k", 10, 5, 30'000);
  EXPECT_FALSE(lim.hit("k", 10, 30'000).allowed);
  burst(lim, "k", 10, 10, 30'000 + minute);
  EXPECT_FALSE(lim.hit("k", 10, 30'000 + minute).allowed);
  // A long idle time neither overflows nor grants more than the burst.
  long long later = 1'000'000'000'000'000LL;
  burst(lim, "k", 10, 10, later);
  EXPECT_FALSE(lim.hit("k", 10, later).allowed);
}

TEST(key_rate_limit, keys_are_independent) {
  gcra_limiter lim;
  burst(lim, "a", 3, 3, 0);
  EXPECT_FALSE(lim.hit("a", 3, 0).allowed);
  burst(lim, "b", 3, 3, 0);
  EXPECT_FALSE(lim.hit("b", 3, 0).allowed);
  burst(lim, "c", 1, 1, 0);
  EXPECT_FALSE(lim.hit("c", 1, 0).allowed);
  EXPECT_EQ(lim.key_count(), 3u);
  EXPECT_TRUE(lim.hit("a", 3, 20'000).allowed);
  EXPECT_FALSE(lim.hit("a", 3, 20'000).allowed);
  EXPECT_TRUE(lim.hit("b", 3, 20'000).allowed);
  EXPECT_FALSE(lim.hit("c", 1, 20'000).allowed);
}

TEST(key_rate_limit, raising_rpm_grants_the_difference_at_once) {
  gcra_limiter lim;
  burst(lim, "k", 2, 2, 0);
  EXPECT_FALSE(lim.hit("k", 2, 0).allowed);
  // 2 of 4 used: 2 more now, then one every 15 s.
  burst(lim, "k", 4, 2, 0);
  auto d = lim.hit("k", 4, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 15'000);
  EXPECT_TRUE(lim.hit("k", 4, 15'000).allowed);
}

TEST(key_rate_limit, lowering_rpm_counts_what_was_used) {
  gcra_limiter lim;
  burst(lim, "k", 4, 2, 0);
  // 2 of 2 used: the next slot is 30 s away at the new rate.
  auto d = lim.hit("k", 2, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 30'000);
  EXPECT_FALSE(lim.hit("k", 2, 29'999).allowed);
  EXPECT_TRUE(lim.hit("k", 2, 30'000).allowed);
  EXPECT_FALSE(lim.hit("k", 2, 30'000).allowed);
}

TEST(key_rate_limit, lowered_rpm_carries_at_most_one_minute_of_debt) {
  gcra_limiter lim;
  burst(lim, "k", 10, 10, 0);
  // 10 used, limit now 1 a minute: a wait of one minute, not ten.
  auto d = lim.hit("k", 1, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, minute);
  d = lim.hit("k", 1, minute - 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 1);
  EXPECT_TRUE(lim.hit("k", 1, minute).allowed);
  d = lim.hit("k", 1, minute);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, minute);
}

TEST(key_rate_limit, debt_drains_at_the_rate_then_in_force) {
  gcra_limiter lim;
  burst(lim, "k", 60, 60, 0);
  // 30 s at 60 a minute drained 30 requests; 30 more fit under 60.
  burst(lim, "k", 60, 30, 30'000);
  EXPECT_FALSE(lim.hit("k", 60, 30'000).allowed);
  // Lowered to 30: the 60 owed are more than the new minute holds.
  auto d = lim.hit("k", 30, 30'000);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 2000);
  EXPECT_TRUE(lim.hit("k", 30, 32'000).allowed);
}

TEST(key_rate_limit, zero_or_negative_rpm_refuses) {
  gcra_limiter lim;
  for (int rpm : {0, -1}) {
    auto d = lim.hit("k", rpm, 0);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retry_after_ms, minute);
  }
  EXPECT_EQ(lim.key_count(), 0u);
}

TEST(key_rate_limit, time_going_backwards_grants_nothing) {
  gcra_limiter lim;
  burst(lim, "k", 1, 1, 100'000);
  auto d = lim.hit("k", 1, 50'000);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, minute);
  EXPECT_FALSE(lim.hit("k", 1, 100'000 + minute - 1).allowed);
  EXPECT_TRUE(lim.hit("k", 1, 100'000 + minute).allowed);
}

TEST(key_rate_limit, prune_forgets_keys_that_owe_nothing) {
  gcra_limiter lim;
  burst(lim, "fast", 60, 1, 0);  // owes 1 s
  burst(lim, "slow", 1, 1, 0);   // owes 1 min
  burst(lim, "busy", 60, 60, 0); // owes 1 min
  EXPECT_EQ(lim.key_count(), 3u);
  lim.prune(999);
  EXPECT_EQ(lim.key_count(), 3u);
  lim.prune(1000);
  EXPECT_EQ(lim.key_count(), 2u);
  lim.prune(minute - 1);
  EXPECT_EQ(lim.key_count(), 2u);
  EXPECT_FALSE(lim.hit("slow", 1, minute - 1).allowed);
  lim.prune(minute);
  EXPECT_EQ(lim.key_count(), 0u);
  // A pruned key starts afresh with its full burst.
  burst(lim, "busy", 60, 60, minute);
  EXPECT_FALSE(lim.hit("busy", 60, minute).allowed);
}

TEST(key_rate_limit, large_rpm_does_not_overflow) {
  gcra_limiter lim;
  constexpr int rpm = 1'000'000;
  burst(lim, "k", rpm, rpm, 0);
  auto d = lim.hit("k", rpm, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 1);
  // 1000000 a minute drain 16.67 a millisecond.
  burst(lim, "k", rpm, 16, 1);
  EXPECT_FALSE(lim.hit("k", rpm, 1).allowed);
  lim.prune(minute + 1);
  EXPECT_EQ(lim.key_count(), 0u);
}

TEST(key_rate_limit, gcra_rule_is_constexpr) {
  static_assert(gcra::admit(0, 1).allowed);
  static_assert(!gcra::admit(gcra::request_units, 1).allowed);
  static_assert(gcra::admit(gcra::request_units, 1).retry_after_ms == minute);
  static_assert(gcra::drained(60'000, 0, 60, 1000) == 0);
  static_assert(gcra::hit_due(0, 60, 10).state == 10 * 60 + 60'000);
  SUCCEED();
}

TEST(key_rate_limit, one_word_form_decides_as_the_limiter) {
  for (int rpm : {1, 3, 7, 60, 999, 100'000}) {
    gcra_limiter lim;
    std::int64_t due = 0;
    long long t = 1'000'000;
    for (int i = 0; i < 2000; ++i) {
      t += (i * 31) % (90'000 / rpm + 2);
      auto s = gcra::hit_due(due, rpm, t);
      auto d = lim.hit("k", rpm, t);
      ASSERT_EQ(s.allowed, d.allowed) << rpm << " at " << t;
      ASSERT_EQ(s.retry_after_ms, d.retry_after_ms) << rpm << " at " << t;
      due = s.state;
      ASSERT_EQ(gcra::at_rest(due, rpm, t), s.allowed ? false : due <= t * rpm);
    }
  }
}

TEST(key_rate_limit, one_word_form_refuses_zero_rpm) {
  auto s = gcra::hit_due(5, 0, 100);
  EXPECT_FALSE(s.allowed);
  EXPECT_EQ(s.state, 5);
  EXPECT_EQ(s.retry_after_ms, minute);
}
