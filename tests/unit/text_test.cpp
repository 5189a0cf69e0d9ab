#include "policy/text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace gatehouse::policy;

TEST(text, valid_utf8_accepts_well_formed_text) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_TRUE(valid_utf8(std::string("a\0b", 3))) << "NUL is valid UTF-8";
}

TEST(text, valid_utf8_refuses_malformed_text) {
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("\xC3"));             // truncated
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));         // overlong '/'
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));     // overlong
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));     // surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\x80"));             // lone continuation
}

TEST(text, clean_utf8_replaces_bad_bytes_and_nul) {
  EXPECT_EQ(clean_utf8("ok"), "ok");
  EXPECT_EQ(clean_utf8("a\xff" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(clean_utf8(std::string("a\0b", 3)), "a\xEF\xBF\xBD" "b");
  auto out = clean_utf8("\xC3\x28\xF0\x9F");
  EXPECT_TRUE(valid_utf8(out));
  EXPECT_EQ(out.find('\0'), std::string::npos);
}

TEST(text, clean_utf8_cuts_at_a_character_boundary) {
  // "é" is two bytes: a cut after 3 bytes keeps "aé".
  EXPECT_EQ(clean_utf8("a\xC3\xA9\xC3\xA9", 4), "a\xC3\xA9");
  EXPECT_EQ(clean_utf8("abcdef", 3), "abc");
}

TEST(text, echo_is_safe_to_quote) {
  EXPECT_EQ(echo("name"), "name");
  EXPECT_EQ(echo("a\r\nX-Injected: 1"), "a\xEF\xBF\xBD\xEF\xBF\xBDX-Injected: 1");
  auto long_text = std::string(1000, 'x');
  auto e = echo(long_text, 16);
  EXPECT_EQ(e, std::string(16, 'x') + "\xE2\x80\xA6");
  // Whatever the input, the echo serializes as JSON without throwing.
  std::string hostile = "\xff\xfe\x00\x01 \xC3";
  hostile.push_back('\0');
  EXPECT_NO_THROW(nlohmann::json(echo(hostile)).dump());
}

TEST(text, control_bytes) {
  EXPECT_FALSE(has_control_bytes("Bearer abc.def-123"));
  EXPECT_TRUE(has_control_bytes("a\rb"));
  EXPECT_TRUE(has_control_bytes("a\nb"));
  EXPECT_TRUE(has_control_bytes(std::string("a\0b", 3)));
  EXPECT_TRUE(has_control_bytes("a\tb"));
  EXPECT_TRUE(has_control_bytes("a\x7f"));
  EXPECT_FALSE(has_control_bytes("caf\xC3\xA9"));
}

TEST(text, http_tokens) {
  EXPECT_TRUE(is_http_token("Authorization"));
  EXPECT_TRUE(is_http_token("x-api-key"));
  EXPECT_TRUE(is_http_token("Bearer"));
  EXPECT_FALSE(is_http_token(""));
  EXPECT_FALSE(is_http_token("X Api"));
  EXPECT_FALSE(is_http_token("x:y"));
  EXPECT_FALSE(is_http_token("x\r\ny"));
  EXPECT_FALSE(is_http_token("caf\xC3\xA9"));
}
