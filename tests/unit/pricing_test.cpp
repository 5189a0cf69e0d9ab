#include "policy/pricing.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

using namespace gatehouse::policy;

namespace {

using price_table = std::map<std::string, model_price>;

model_price price_of(std::string_view model, const price_table& ov = {}) {
  auto p = find_price(ov, model);
  if (!p) {
    ADD_FAILURE() << "no price for " << model;
    return {};
  }
  return *p;
}

void expect_price(std::string_view model, long long in, long long out,
                  const price_table& ov = {}) {
  auto p = price_of(model, ov);
  EXPECT_EQ(p.input_micros_per_mtok, in) << model;
  EXPECT_EQ(p.output_micros_per_mtok, out) << model;
}

} // namespace

TEST(pricing, builtin_table_covers_well_known_models) {
  const auto& prices = builtin_prices();
  for (const char* model : {"gpt-4o",
                            "gpt-4o-mini",
                            "gpt-4.1",
                            "gpt-4.1-mini",
                            "gpt-4.1-nano",
                            "o1",
                            "o1-mini",
                            "o3",
                            "o3-mini",
                            "o4-mini",
                            "gpt-4-turbo",
                            "gpt-3.5-turbo",
                            "text-embedding-3-small",
                            "text-embedding-3-large",
                            "claude-3-5-sonnet",
                            "claude-3-5-haiku",
                            "claude-3-7-sonnet",
                            "claude-sonnet-4",
                            "claude-opus-4",
                            "claude-3-opus",
                            "claude-3-haiku"}) {
    EXPECT_EQ(prices.count(model), 1u) << model;
  }
  for (const auto& [model, price] : prices) {
    EXPECT_GT(price.input_micros_per_mtok, 0) << model;
    EXPECT_GE(price.output_micros_per_mtok, 0) << model;
    // Generation never costs less than reading.
    if (price.output_micros_per_mtok > 0) {
      EXPECT_GE(price.output_micros_per_mtok, price.input_micros_per_mtok)
        << model;
    }
  }
}

TEST(pricing, builtin_list_prices) {
  expect_price("gpt-4o", 2'500'000, 10'000'000);
  expect_price("gpt-4o-mini", 150'000, 600'000);
  expect_price("gpt-4.1", 2'000'000, 8'000'000);
  expect_price("gpt-4.1-mini", 400'000, 1'600'000);
  expect_price("gpt-4.1-nano", 100'000, 400'000);
  expect_price("o1", 15'000'000, 60'000'000);
  expect_price("o3-mini", 1'100'000, 4'400'000);
  expect_price("text-embedding-3-small", 20'000, 0);
  expect_price("claude-3-5-sonnet", 3'000'000, 15'000'000);
  expect_price("claude-3-5-haiku", 800'000, 4'000'000);
  expect_price("claude-opus-4", 15'000'000, 75'000'000);
  expect_price("claude-3-haiku", 250'000, 1'250'000);
}

TEST(pricing, dated_and_suffixed_versions) {
  expect_price("gpt-4o-mini-2024-07-18", 150'000, 600'000);
  expect_price("gpt-4o-2024-08-06", 2'500'000, 10'000'000);
  // An exact dated entry beats the family price.
  expect_price("gpt-4o-2024-05-13", 5'000'000, 15'000'000);
  expect_price("gpt-4.1-mini-2025-04-14", 400'000, 1'600'000);
  expect_price("gpt-4.1-2025-04-14", 2'000'000, 8'000'000);
  expect_price("o1-mini-2024-09-12", 1'100'000, 4'400'000);
  expect_price("o1-2024-12-17", 15'000'000, 60'000'000);
  expect_price("o3-mini-2025-01-31", 1'100'000, 4'400'000);
  expect_price("o4-mini-2025-04-16", 1'100'000, 4'400'000);
  expect_price("gpt-4-turbo-2024-04-09", 10'000'000, 30'000'000);
  expect_price("gpt-3.5-turbo-0125", 500'000, 1'500'000);
  expect_price("claude-3-5-sonnet-20241022", 3'000'000, 15'000'000);
  expect_price("claude-3-5-sonnet-latest", 3'000'000, 15'000'000);
  expect_price("claude-3-7-sonnet-20250219", 3'000'000, 15'000'000);
  expect_price("claude-sonnet-4-20250514", 3'000'000, 15'000'000);
  expect_price("claude-opus-4-20250514", 15'000'000, 75'000'000);
  expect_price("claude-3-haiku-20240307", 250'000, 1'250'000);
}

TEST(pricing, unknown_models) {
  price_table none;
  for (const char* model :
       {"", "gpt", "gpt-4ox", "gpt-4omini", "gpt-4o_mini", "o", "o5", "claude",
        "claude-3", "claude-3-5", "llama-3-70b", "GPT-4o", "openai/gpt-4o",
        " gpt-4o", "gpt-4o ", "my-deployment"}) {
    EXPECT_FALSE(find_price(none, model)) << model;
  }
  // A bare trailing dash still names the family.
  EXPECT_TRUE(find_price(none, "gpt-4o-"));
}

TEST(pricing, overrides) {
  price_table ov = {
    {"gpt-4o", {1'000'000, 2'000'000}},
    {"my-model", {7, 8}},
    {"claude-3-5-sonnet-20241022", {9, 9}},
    {"gpt-4o-mini-2024", {3, 4}},
    {"llama", {5, 6}},
  };
  // Exact override beats exact builtin.
  expect_price("gpt-4o", 1'000'000, 2'000'000, ov);
  expect_price("my-model", 7, 8, ov);
  // Exact override beats the builtin family.
  expect_price("claude-3-5-sonnet-20241022", 9, 9, ov);
  // An exact builtin beats an override family.
  expect_price("gpt-4o-2024-05-13", 5'000'000, 15'000'000, ov);
  // The longest family wins, wherever it comes from.
  expect_price("gpt-4o-2024-08-06", 1'000'000, 2'000'000, ov);
  expect_price("gpt-4o-mini-2024-07-18", 3, 4, ov);
  expect_price("gpt-4o-mini-2025-01-01", 150'000, 600'000, ov);
  expect_price("llama-3-8b", 5, 6, ov);
  EXPECT_FALSE(find_price(ov, "llama3"));
  // On a tie of lengths the override wins.
  price_table same = {{"claude-3-5-sonnet", {1, 2}}};
  expect_price("claude-3-5-sonnet-latest", 1, 2, same);
  // Overrides can make a model free.
  price_table free_model = {{"gpt-4o-mini", {0, 0}}};
  expect_price("gpt-4o-mini-2024-07-18", 0, 0, free_model);
}

TEST(pricing, cost_rounds_to_nearest_micro) {
  model_price mini{150'000, 600'000};
  // 1000 * 0.15 + 500 * 0.6 micros = 150 + 300.
  EXPECT_EQ(cost_micros(mini, 1000, 500), 450);
  EXPECT_EQ(cost_micros(mini, 1'000'000, 1'000'000), 750'000);
  EXPECT_EQ(cost_micros(mini, 0, 0), 0);
  // 3 tokens at 0.15 micros each = 0.45 -> 0; 4 -> 0.6 -> 1.
  EXPECT_EQ(cost_micros(mini, 3, 0), 0);
  EXPECT_EQ(cost_micros(mini, 4, 0), 1);
  // Exactly half a micro rounds up.
  model_price half{500'000, 0};
  EXPECT_EQ(cost_micros(half, 1, 0), 1);
  EXPECT_EQ(cost_micros(half, 3, 0), 2);
  model_price tiny{1, 1};
  EXPECT_EQ(cost_micros(tiny, 499'999, 0), 0);
  EXPECT_EQ(cost_micros(tiny, 500'000, 0), 1);
  // Fractions of input and output add up before rounding: 0.4 + 0.4.
  model_price p{400'000, 400'000};
  EXPECT_EQ(cost_micros(p, 1, 1), 1);
  EXPECT_EQ(cost_micros(p, 1, 0), 0);
  // Claude Opus: 2000 in, 1000 out = 30000 + 75000.
  EXPECT_EQ(cost_micros({15'000'000, 75'000'000}, 2000, 1000), 105'000);
}

TEST(pricing, cost_handles_extremes) {
  constexpr auto max = std::numeric_limits<long long>::max();
  model_price gpt4{30'000'000, 60'000'000};
  // A trillion tokens: far beyond 64-bit intermediate products.
  EXPECT_EQ(cost_micros(gpt4, 1'000'000'000'000LL, 1'000'000'000'000LL),
            90'000'000'000'000LL);
  EXPECT_EQ(cost_micros(gpt4, max, 0), max);
  EXPECT_EQ(cost_micros({max, max}, max, max), max);
  EXPECT_EQ(cost_micros({1'000'000, 0}, max, 0), max);
  EXPECT_EQ(cost_micros({1'000'000, 1'000'000}, max - 1, 0), max - 1);
  // Negative inputs count as zero.
  EXPECT_EQ(cost_micros(gpt4, -5, 1000), 60'000);
  EXPECT_EQ(cost_micros({-1, -1}, 1000, 1000), 0);
}

TEST(pricing, usd_to_micros) {
  EXPECT_EQ(usd_to_micros(0.0), 0);
  EXPECT_EQ(usd_to_micros(0.15), 150'000);
  EXPECT_EQ(usd_to_micros(0.6), 600'000);
  EXPECT_EQ(usd_to_micros(2.5), 2'500'000);
  EXPECT_EQ(usd_to_micros(0.000001), 1);
  EXPECT_EQ(usd_to_micros(1.1), 1'100'000);
  EXPECT_EQ(usd_to_micros(123.456789), 123'456'789);
  EXPECT_EQ(usd_to_micros(0.0000004), 0);
  EXPECT_EQ(usd_to_micros(0.0000006), 1);
  EXPECT_EQ(usd_to_micros(1e9), 1'000'000'000'000'000LL);
  EXPECT_EQ(usd_to_micros(-0.0), 0);
  EXPECT_FALSE(usd_to_micros(-0.01));
  EXPECT_FALSE(usd_to_micros(1e9 + 1));
  EXPECT_FALSE(usd_to_micros(std::nan("")));
  EXPECT_FALSE(usd_to_micros(std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(usd_to_micros(-std::numeric_limits<double>::infinity()));
  // Every amount with at most 6 decimals converts exactly.
  for (long long m = 0; m < 3'000'000; m += 7) {
    double usd
      = std::stod(std::to_string(m / 1'000'000) + "."
                  + std::to_string(1'000'000 + m % 1'000'000).substr(1));
    ASSERT_EQ(usd_to_micros(usd), m) << usd;
  }
}

TEST(pricing, per_mtok_usd_to_micros) {
  EXPECT_EQ(per_mtok_usd_to_micros(0.15), 150'000);
  EXPECT_EQ(per_mtok_usd_to_micros(75), 75'000'000);
  EXPECT_EQ(per_mtok_usd_to_micros(0.02), 20'000);
  EXPECT_FALSE(per_mtok_usd_to_micros(-1));
  EXPECT_FALSE(per_mtok_usd_to_micros(std::nan("")));
  EXPECT_FALSE(per_mtok_usd_to_micros(2e9));
}

TEST(pricing, micros_to_usd_prints_exactly) {
  using nlohmann::json;
  EXPECT_EQ(micros_to_usd(150'000), 0.15);
  EXPECT_EQ(json(micros_to_usd(150'000)).dump(), "0.15");
  EXPECT_EQ(json(micros_to_usd(2'500'000)).dump(), "2.5");
  EXPECT_EQ(json(micros_to_usd(123'456'789)).dump(), "123.456789");
  EXPECT_EQ(json(micros_to_usd(1'100'000)).dump(), "1.1");
  EXPECT_EQ(json(micros_to_usd(0)).dump(), "0.0");
  EXPECT_EQ(json(micros_to_usd(999'999)).dump(), "0.999999");
  // Printing and reading back gives the same micro-dollars.
  for (long long m = 0; m < 5'000'000; m += 13) {
    auto text = json(micros_to_usd(m)).dump();
    auto back = usd_to_micros(json::parse(text).get<double>());
    ASSERT_EQ(back, m) << text;
  }
  EXPECT_EQ(*usd_to_micros(micros_to_usd(987'654'321'012LL)),
            987'654'321'012LL);
}
