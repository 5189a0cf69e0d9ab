#include "policy/api_key.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace gatehouse::policy;

TEST(api_key, generated_keys_have_the_documented_format) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto k = generate_api_key();
    EXPECT_EQ(k.size(), 72u);
    EXPECT_EQ(k.substr(0, 8), "sk-gate-");
    for (char c : k.substr(8))
      EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << k;
    EXPECT_TRUE(is_api_key_format(k));
    seen.insert(k);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(api_key, format_check_rejects_lookalikes) {
  std::string hex64(64, 'a');
  EXPECT_TRUE(is_api_key_format("sk-gate-" + hex64));
  EXPECT_FALSE(is_api_key_format(""));
  EXPECT_FALSE(is_api_key_format("sk-gate-"));
  EXPECT_FALSE(is_api_key_format("sk-gate-" + hex64.substr(1)));
  EXPECT_FALSE(is_api_key_format("sk-gate-" + hex64 + "a"));
  EXPECT_FALSE(is_api_key_format("sk-gate-" + std::string(64, 'A')));
  EXPECT_FALSE(is_api_key_format("sk-gate-" + std::string(63, 'a') + "g"));
  EXPECT_FALSE(is_api_key_format("sk-gato-" + hex64));
  EXPECT_FALSE(is_api_key_format("SK-GATE-" + hex64));
  EXPECT_FALSE(is_api_key_format("sk-" + hex64));
  EXPECT_FALSE(is_api_key_format(" sk-gate-" + hex64.substr(1)));
}

TEST(api_key, prefix_hash_and_fingerprint) {
  std::string raw = "sk-gate-" + std::string(64, '0');
  EXPECT_EQ(key_prefix(raw), "sk-gate-0000");
  EXPECT_EQ(key_prefix("short"), "short");
  auto h = key_hash(raw);
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(key_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_fingerprint(h), h.substr(0, 12));
  EXPECT_EQ(hash_fingerprint(key_hash("abc")), "ba7816bf8f01");
  EXPECT_NE(key_hash(raw), key_hash(generate_api_key()));
}
