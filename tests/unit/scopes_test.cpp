#include "policy/scopes.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "policy/text.hpp"

using namespace gatehouse::policy;

namespace {

using strings = std::vector<std::string>;

} // namespace

TEST(scopes, valid_scopes) {
  EXPECT_FALSE(validate_scope("*"));
  EXPECT_FALSE(validate_scope("provider:openai"));
  EXPECT_FALSE(validate_scope("provider:azure-openai_2"));
  EXPECT_FALSE(validate_scope("provider:0"));
  EXPECT_FALSE(validate_scope("provider:" + std::string(64, 'a')));
  EXPECT_FALSE(validate_scope("model:gpt-4o-mini"));
  EXPECT_FALSE(validate_scope("model:claude-3-5-sonnet@20240620"));
  EXPECT_FALSE(validate_scope("model:meta/llama-3:70b"));
  EXPECT_FALSE(validate_scope("model:" + std::string(128, 'm')));
}

TEST(scopes, invalid_scopes_have_messages) {
  for (const std::string& bad : strings{
         "", "**", "all", "provider:", "provider:OpenAI", "provider:-x",
         "provider:_x", "provider:a b", "provider:" + std::string(65, 'a'),
         "model:", "model:gpt 4", "model:" + std::string(129, 'm'),
         "model:gpt\t4", "model:gpt\x7f", "model:caf\xc3\xa9", "Provider:x",
         "providers:x", "model"}) {
    auto err = validate_scope(bad);
    ASSERT_TRUE(err.has_value()) << "'" << bad << "'";
    EXPECT_FALSE(err->empty());
  }
}

TEST(scopes, star_allows_everything) {
  EXPECT_TRUE(scopes_allow({"*"}, "openai", "gpt-4o"));
  EXPECT_TRUE(scopes_allow({"provider:openai", "*"}, "anthropic", "x"));
  EXPECT_TRUE(scopes_allow({"model:a", "*"}, "p", "b"));
}

TEST(scopes, provider_only) {
  std::vector<std::string> s{"provider:openai", "provider:mistral"};
  EXPECT_TRUE(scopes_allow(s, "openai", "gpt-4o"));
  EXPECT_TRUE(scopes_allow(s, "mistral", "anything"));
  EXPECT_FALSE(scopes_allow(s, "anthropic", "claude-3"));
  EXPECT_FALSE(scopes_allow(s, "openai2", "gpt-4o"));
  EXPECT_FALSE(scopes_allow(s, "", "gpt-4o"));
}

TEST(scopes, model_only) {
  std::vector<std::string> s{"model:gpt-4o-mini"};
  EXPECT_TRUE(scopes_allow(s, "openai", "gpt-4o-mini"));
  EXPECT_TRUE(scopes_allow(s, "azure", "gpt-4o-mini"));
  EXPECT_FALSE(scopes_allow(s, "openai", "gpt-4o"));
  EXPECT_FALSE(scopes_allow(s, "openai", "GPT-4o-mini"));
  EXPECT_FALSE(scopes_allow(s, "openai", ""));
}

TEST(scopes, provider_and_model_must_both_match) {
  std::vector<std::string> s{"provider:openai", "model:gpt-4o-mini",
                             "model:gpt-4o"};
  EXPECT_TRUE(scopes_allow(s, "openai", "gpt-4o-mini"));
  EXPECT_TRUE(scopes_allow(s, "openai", "gpt-4o"));
  EXPECT_FALSE(scopes_allow(s, "openai", "o1"));
  EXPECT_FALSE(scopes_allow(s, "anthropic", "gpt-4o"));
  EXPECT_FALSE(scopes_allow(s, "anthropic", "claude"));
}

TEST(scopes, empty_or_unrecognized_lists_allow_nothing) {
  EXPECT_FALSE(scopes_allow({}, "openai", "gpt-4o"));
  EXPECT_FALSE(scopes_allow({"bogus"}, "openai", "gpt-4o"));
}

TEST(scopes, full_matrix) {
  struct row {
    std::vector<std::string> scopes;
    std::string provider;
    std::string model;
    bool allowed;
  };
  const std::vector<row> rows{
    {{"*"}, "a", "m", true},
    {{"provider:a"}, "a", "m", true},
    {{"provider:a"}, "b", "m", false},
    {{"model:m"}, "a", "m", true},
    {{"model:m"}, "a", "n", false},
    {{"provider:a", "model:m"}, "a", "m", true},
    {{"provider:a", "model:m"}, "a", "n", false},
    {{"provider:a", "model:m"}, "b", "m", false},
    {{"provider:a", "model:m"}, "b", "n", false},
    {{"provider:a", "provider:b", "model:m"}, "b", "m", true},
  };
  for (const auto& r : rows)
    EXPECT_EQ(scopes_allow(r.scopes, r.provider, r.model), r.allowed)
      << r.provider << "/" << r.model;
}

// Found by the validators fuzzer (tests/fuzz/regressions): an invalid scope
// was quoted whole and as sent, so its message could hold bytes that are
// not UTF-8 and any length.
TEST(scopes, invalid_scope_is_echoed_as_clean_capped_text) {
  for (std::string scope :
       {std::string{"n\x8a"}, std::string{"model:\xff\xfe"},
        std::string{"provider:a\0b", 12}, "model:" + std::string(5000, 'x'),
        std::string(100000, '\xc3')}) {
    auto err = validate_scope(scope);
    ASSERT_TRUE(err.has_value());
    EXPECT_TRUE(valid_utf8(*err)) << *err;
    EXPECT_FALSE(has_control_bytes(*err)) << *err;
    EXPECT_LT(err->size(), 300u);
    EXPECT_NO_THROW(nlohmann::json({{"message", *err}}).dump());
  }
}
