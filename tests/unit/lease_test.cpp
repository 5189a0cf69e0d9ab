#include "policy/lease.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

using namespace gatehouse::policy;

TEST(lease, need_is_the_estimate_and_never_zero) {
  EXPECT_EQ(lease_need(250), 250);
  EXPECT_EQ(lease_need(0), 1);
  EXPECT_EQ(lease_need(-5), 1);
}

TEST(lease, want_is_a_slice_of_requests_without_overflow) {
  EXPECT_EQ(lease_want(10), 10 * lease_slice_requests);
  auto big = std::numeric_limits<std::int64_t>::max() / 2;
  EXPECT_EQ(lease_want(big), big);
  EXPECT_EQ(lease_want(10, 1), 10);
  EXPECT_EQ(lease_want(10, 0), 10);
  EXPECT_EQ(lease_want(10, 4096), 40'960);
}

TEST(lease, refuses_when_what_remains_cannot_cover_the_need) {
  EXPECT_EQ(lease_grant(99, 100, 6400, 3), 0);
  EXPECT_EQ(lease_grant(0, 1, 64, 3), 0);
  EXPECT_EQ(lease_grant(-10, 1, 64, 3), 0);
  EXPECT_EQ(lease_grant(100, 0, 64, 3), 0);
}

TEST(lease, grants_whole_slices_far_from_the_cap) {
  // 3 members, 4 slices each: 12 slices of 6,400 = 76,800.
  EXPECT_EQ(lease_grant(76'800, 100, 6'400, 3), 6'400);
  EXPECT_EQ(lease_grant(1'000'000'000, 100, 6'400, 3), 6'400);
}

TEST(lease, grants_just_the_need_near_the_cap) {
  EXPECT_EQ(lease_grant(76'799, 100, 6'400, 3), 100);
  EXPECT_EQ(lease_grant(100, 100, 6'400, 3), 100);
  // A cap of 10.5 requests over 3 members: every grant is one request, so
  // the members together admit exactly 10.
  std::int64_t remaining = 1'050;
  int admitted = 0;
  while (auto g = lease_grant(remaining, 100, 6'400, 3)) {
    remaining -= g;
    ++admitted;
  }
  EXPECT_EQ(admitted, 10);
  EXPECT_EQ(remaining, 50);
}

TEST(lease, never_grants_more_than_remains) {
  for (std::int64_t remaining : {1, 99, 100, 6'399, 6'400, 76'800, 1'000'000})
    for (std::size_t members : {1u, 2u, 3u, 100u})
      EXPECT_LE(lease_grant(remaining, 100, 6'400, members), remaining);
}

TEST(lease, a_want_below_the_need_is_the_need) {
  EXPECT_EQ(lease_grant(1'000'000, 100, 10, 1), 100);
}

TEST(lease, low_water_is_a_quarter_of_a_slice_and_none_for_an_exact_grant) {
  EXPECT_EQ(lease_low_water(6'400, 100), 1'600);
  EXPECT_EQ(lease_low_water(100, 100), 0);
}
