#include "policy/budget.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

using namespace gatehouse::policy;

namespace {

constexpr std::int64_t max64 = std::numeric_limits<std::int64_t>::max();

// One micro-dollar per input token, two per output token.
constexpr model_price simple_price{1'000'000, 2'000'000};

} // namespace

TEST(budget, admits_within_and_exactly_at_the_limit) {
  budget_state b{100, 50, 20};
  EXPECT_TRUE(admits(b, 0));
  EXPECT_TRUE(admits(b, 29));
  EXPECT_TRUE(admits(b, 30));
  EXPECT_FALSE(admits(b, 31));
}

TEST(budget, in_flight_estimates_count_against_the_limit) {
  EXPECT_TRUE(admits({100, 0, 100}, 0));
  EXPECT_FALSE(admits({100, 0, 100}, 1));
  EXPECT_FALSE(admits({100, 0, 101}, 0));
  EXPECT_FALSE(admits({100, 10, 91}, 0));
}

TEST(budget, reached_limit_refuses_even_free_requests) {
  EXPECT_FALSE(admits({100, 100, 0}, 0));
  EXPECT_FALSE(admits({100, 150, 0}, 0));
  EXPECT_TRUE(admits({100, 99, 0}, 0));
  EXPECT_TRUE(admits({100, 99, 0}, 1));
  EXPECT_FALSE(admits({100, 99, 0}, 2));
}

TEST(budget, zero_limit_admits_nothing) {
  EXPECT_FALSE(admits({0, 0, 0}, 0));
  EXPECT_FALSE(admits({0, 0, 0}, 1));
}

TEST(budget, negative_amounts_count_as_zero) {
  EXPECT_TRUE(admits({100, -50, 0}, 100));
  EXPECT_FALSE(admits({100, -50, 0}, 101));
  EXPECT_TRUE(admits({100, 0, -10}, 100));
  EXPECT_TRUE(admits({100, 100 - 1, 0}, -5));
  EXPECT_FALSE(admits({-1, 0, 0}, 0));
}

TEST(budget, huge_amounts_do_not_overflow) {
  EXPECT_TRUE(admits({max64, 0, 0}, max64));
  EXPECT_FALSE(admits({max64, 1, 0}, max64));
  EXPECT_FALSE(admits({max64, max64 - 1, max64}, max64));
  EXPECT_FALSE(admits({max64, max64 - 1, 1}, max64));
  EXPECT_TRUE(admits({max64, max64 - 1, 0}, 1));
  EXPECT_FALSE(admits({1000, 10, max64}, max64));
  EXPECT_FALSE(admits({1000, 10, 0}, max64));
}

TEST(budget, estimate_prices_prompt_at_four_characters_a_token) {
  EXPECT_EQ(estimate_cost_micros(simple_price, 0, std::nullopt), 0);
  EXPECT_EQ(estimate_cost_micros(simple_price, 1, std::nullopt), 1);
  EXPECT_EQ(estimate_cost_micros(simple_price, 4, std::nullopt), 1);
  EXPECT_EQ(estimate_cost_micros(simple_price, 5, std::nullopt), 2);
  EXPECT_EQ(estimate_cost_micros(simple_price, 8, std::nullopt), 2);
  EXPECT_EQ(estimate_cost_micros(simple_price, 9, std::nullopt), 3);
}

TEST(budget, estimate_prices_max_tokens_as_output) {
  EXPECT_EQ(estimate_cost_micros(simple_price, 0, 10), 20);
  EXPECT_EQ(estimate_cost_micros(simple_price, 9, 10), 23);
  EXPECT_EQ(estimate_cost_micros(simple_price, 9, 0), 3);
  EXPECT_EQ(estimate_cost_micros(simple_price, 9, -7), 3);
}

TEST(budget, estimate_uses_the_price_per_million_tokens) {
  // $0.15 / $0.60 per million tokens: 1000 prompt tokens and 500 output
  // tokens cost $0.00015 + $0.0003.
  model_price mini{150'000, 600'000};
  EXPECT_EQ(estimate_cost_micros(mini, 4000, 500), 450);
  EXPECT_EQ(estimate_cost_micros(mini, 4000, std::nullopt), 150);
  // 10 tokens cost 1.5 micro-dollars, rounded half up.
  EXPECT_EQ(estimate_cost_micros(mini, 40, std::nullopt), 2);
}

TEST(budget, unpriced_model_is_estimated_at_zero) {
  EXPECT_EQ(estimate_cost_micros(std::nullopt, 1'000'000, 100'000), 0);
  EXPECT_EQ(estimate_cost_micros(model_price{}, 1'000'000, 100'000), 0);
}

TEST(budget, estimate_of_enormous_prompt_saturates) {
  auto huge = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(estimate_cost_micros(model_price{1'000'000'000'000, 0}, huge,
                                 std::numeric_limits<long long>::max()),
            max64);
  EXPECT_GT(estimate_cost_micros(simple_price, huge, std::nullopt), 0);
}

TEST(budget, no_limit_has_no_view) {
  EXPECT_FALSE(budget_of(std::nullopt, 0));
  EXPECT_FALSE(budget_of(std::nullopt, 5'000'000));
}

TEST(budget, view_rounds_to_two_decimals) {
  auto third = budget_of(3'000'000, 1'000'000);
  ASSERT_TRUE(third);
  EXPECT_DOUBLE_EQ(third->used_pct, 33.33);
  auto two_thirds = budget_of(3'000'000, 2'000'000);
  ASSERT_TRUE(two_thirds);
  EXPECT_DOUBLE_EQ(two_thirds->used_pct, 66.67);
  auto none = budget_of(1'000'000, 0);
  ASSERT_TRUE(none);
  EXPECT_DOUBLE_EQ(none->used_pct, 0);
  EXPECT_EQ(none->status, "green");
  // 0.000005 % is below what two decimals show.
  auto tiny = budget_of(2'000'000'000, 1);
  ASSERT_TRUE(tiny);
  EXPECT_DOUBLE_EQ(tiny->used_pct, 0);
  // Halves round up: 12.345 % -> 12.35 %.
  auto half = budget_of(200'000, 24'690);
  ASSERT_TRUE(half);
  EXPECT_DOUBLE_EQ(half->used_pct, 12.35);
}

TEST(budget, status_thresholds) {
  struct row {
    std::int64_t spent;
    double pct;
    const char* status;
  };
  // Limit of $10: 100'000 micro-dollars are 1 %.
  const row rows[] = {
    {0, 0, "green"},
    {6'999'000, 69.99, "green"},
    {6'999'499, 69.99, "green"},
    {6'999'500, 70.0, "yellow"}, // 69.995 shows as 70.00
    {7'000'000, 70.0, "yellow"},
    {8'500'000, 85.0, "yellow"},
    {8'999'000, 89.99, "yellow"},
    {8'999'499, 89.99, "yellow"},
    {8'999'500, 90.0, "red"},
    {9'000'000, 90.0, "red"},
    {10'000'000, 100.0, "red"},
    {15'000'000, 150.0, "red"},
  };
  for (const auto& r : rows) {
    auto v = budget_of(10'000'000, r.spent);
    ASSERT_TRUE(v) << r.spent;
    EXPECT_DOUBLE_EQ(v->used_pct, r.pct) << r.spent;
    EXPECT_EQ(v->status, r.status) << r.spent;
  }
}

TEST(budget, zero_limit_is_fully_used) {
  for (std::int64_t spent : {0, 1, 1'000'000}) {
    auto v = budget_of(0, spent);
    ASSERT_TRUE(v);
    EXPECT_DOUBLE_EQ(v->used_pct, 100);
    EXPECT_EQ(v->status, "red");
  }
}

TEST(budget, view_handles_extreme_amounts) {
  auto neg = budget_of(1'000'000, -500);
  ASSERT_TRUE(neg);
  EXPECT_DOUBLE_EQ(neg->used_pct, 0);
  EXPECT_EQ(neg->status, "green");
  auto big = budget_of(1, max64);
  ASSERT_TRUE(big);
  EXPECT_DOUBLE_EQ(big->used_pct, static_cast<double>(max64) * 100);
  EXPECT_EQ(big->status, "red");
  auto full = budget_of(max64, max64);
  ASSERT_TRUE(full);
  EXPECT_DOUBLE_EQ(full->used_pct, 100);
}

TEST(budget, month_of_names_the_utc_calendar_month) {
  EXPECT_EQ(month_of(0), "1970-01");
  EXPECT_EQ(month_of(1'700'000'000), "2023-11");
  EXPECT_EQ(month_of(1'704'067'199), "2023-12"); // 2023-12-31T23:59:59Z
  EXPECT_EQ(month_of(1'704'067'200), "2024-01"); // 2024-01-01T00:00:00Z
  EXPECT_EQ(month_of(1'709'208'000), "2024-02"); // 2024-02-29T12:00:00Z
  EXPECT_EQ(month_of(1'709'251'199), "2024-02");
  EXPECT_EQ(month_of(1'709'251'200), "2024-03");
  EXPECT_EQ(month_of(4'107'542'400), "2100-03");
  EXPECT_EQ(month_of(-1), "1969-12");
}

TEST(budget, admits_is_constexpr) {
  static_assert(admits({100, 50, 20}, 30));
  static_assert(!admits({100, 50, 20}, 31));
  static_assert(!admits({0, 0, 0}, 0));
  SUCCEED();
}
