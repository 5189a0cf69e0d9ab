#include "policy/webhook.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace gatehouse::policy;

// The example of the Standard Webhooks specification.
TEST(webhook, signature_matches_the_standard_vector) {
  auto key = webhook_secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key);
  EXPECT_EQ(webhook_signature(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                              R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(webhook, secrets_are_32_bytes_behind_the_prefix) {
  auto s = new_webhook_secret();
  EXPECT_EQ(s.rfind("whsec_", 0), 0u);
  auto key = webhook_secret_key(s);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 32u);
  EXPECT_NE(s, new_webhook_secret());
  EXPECT_FALSE(webhook_secret_key("sk_abc"));
  EXPECT_FALSE(webhook_secret_key("whsec_***"));
}

TEST(webhook, base64_round_trips) {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd",
                                                std::string("\0\xff", 2)})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_FALSE(base64_decode("YWI"));
}

TEST(webhook, events_are_validated) {
  auto ok = parse_webhook_events(
    nlohmann::json::array({"key.created", "budget.threshold"}), "events");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_FALSE(parse_webhook_events(nlohmann::json::array(), "events"));
  EXPECT_FALSE(
    parse_webhook_events(nlohmann::json::array({"key.eaten"}), "events"));
  EXPECT_FALSE(parse_webhook_events(
    nlohmann::json::array({"key.created", "key.created"}), "events"));
  auto bad = parse_webhook_events(nlohmann::json::array({1}), "events");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("events"), std::string::npos);
}

TEST(webhook, retries_double_from_the_base_up_to_an_hour_for_a_day) {
  const std::int64_t t0 = 1'000'000;
  EXPECT_EQ(webhook_next_attempt(1, t0, t0, 5000), t0 + 5000);
  EXPECT_EQ(webhook_next_attempt(2, t0, t0 + 5000, 5000), t0 + 15000);
  EXPECT_EQ(webhook_next_attempt(3, t0, t0, 5000), t0 + 20000);
  EXPECT_EQ(webhook_next_attempt(30, t0, t0, 5000), t0 + 3600 * 1000);
  EXPECT_FALSE(
    webhook_next_attempt(40, t0, t0 + webhook_retry_window_ms, 5000));
}

TEST(webhook, budget_thresholds) {
  EXPECT_EQ(budget_threshold_reached(49, 100), 0);
  EXPECT_EQ(budget_threshold_reached(50, 100), 50);
  EXPECT_EQ(budget_threshold_reached(99, 100), 80);
  EXPECT_EQ(budget_threshold_reached(150, 100), 100);
  EXPECT_EQ(budget_threshold_reached(150, 0), 0);
  EXPECT_EQ(budget_thresholds_between(0, 100), (std::vector<int>{50, 80, 100}));
  EXPECT_EQ(budget_thresholds_between(50, 80), (std::vector<int>{80}));
  EXPECT_TRUE(budget_thresholds_between(80, 80).empty());
}

TEST(webhook, provider_error_bursts) {
  error_burst b;
  for (int i = 0; i < error_burst::threshold - 1; ++i)
    EXPECT_FALSE(b.hit(1000 + i));
  EXPECT_TRUE(b.hit(2000));
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(b.hit(3000 + i));
  // Spread beyond a minute, errors never add up to a burst.
  error_burst slow;
  for (int i = 0; i < 20; ++i)
    EXPECT_FALSE(slow.hit(i * error_burst::window_ms / 2));
  EXPECT_TRUE(is_provider_error(502, std::nullopt));
  EXPECT_TRUE(is_provider_error(504, std::string{"upstream_timeout"}));
  EXPECT_FALSE(is_provider_error(400, std::string{"guardrail_blocked"}));
  EXPECT_FALSE(is_provider_error(200, std::nullopt));
}

TEST(webhook, body_has_the_documented_fields) {
  auto b = nlohmann::json::parse(webhook_body("evt_1", "key.created",
                                              "2026-12-05T00:00:00Z", "org1",
                                              R"({"key_id":"k"})"));
  EXPECT_EQ(b["id"], "evt_1");
  EXPECT_EQ(b["type"], "key.created");
  EXPECT_EQ(b["org_id"], "org1");
  EXPECT_EQ(b["data"]["key_id"], "k");
}
