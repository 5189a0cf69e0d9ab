#include "policy/provider_select.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "policy/text.hpp"

using namespace gatehouse::policy;

namespace {

selection_input make_input(std::string model,
                           std::vector<std::string> providers,
                           bool auto_detection = true,
                           std::string path = "/v1/chat/completions") {
  selection_input in;
  in.model = std::move(model);
  in.providers = std::move(providers);
  in.auto_detection = auto_detection;
  in.path = std::move(path);
  return in;
}

selection pick(const selection_input& in) {
  auto result = select_provider(in);
  if (auto* p = std::get_if<problem>(&result)) {
    ADD_FAILURE() << "unexpected problem: " << p->message;
    return {};
  }
  return std::get<selection>(result);
}

problem fail(const selection_input& in) {
  auto result = select_provider(in);
  if (auto* s = std::get_if<selection>(&result)) {
    ADD_FAILURE() << "unexpected selection: " << s->provider;
    return make_problem(errc::internal_error, "");
  }
  return std::get<problem>(result);
}

const std::vector<std::string> all_providers
  = {"openai", "anthropic", "google", "mistral", "local"};

} // namespace

TEST(provider_select, header_wins_over_everything) {
  auto in = make_input("openai/gpt-4o", all_providers);
  in.header_provider = "local";
  in.default_provider = "google";
  auto s = pick(in);
  EXPECT_EQ(s.provider, "local");
  // The model is sent as the client wrote it.
  EXPECT_EQ(s.model, "openai/gpt-4o");
  EXPECT_FALSE(s.model_rewritten);
  in.model = "claude-3-5-sonnet";
  in.path = "/v1/messages";
  EXPECT_EQ(pick(in).provider, "local");
}

TEST(provider_select, header_is_trimmed_and_case_insensitive) {
  auto in = make_input("x", all_providers);
  in.header_provider = "  OpenAI ";
  EXPECT_EQ(pick(in).provider, "openai");
}

TEST(provider_select, unknown_header_provider) {
  auto in = make_input("gpt-4o", all_providers);
  in.header_provider = "azure";
  in.default_provider = "openai";
  auto p = fail(in);
  EXPECT_EQ(p.code, errc::provider_required);
  EXPECT_EQ(p.message, "no provider named 'azure'");
  EXPECT_EQ(http_status(p.code), 400);
  in.header_provider = std::string(300, 'x');
  auto long_name = fail(in);
  EXPECT_LT(long_name.message.size(), 100u);
}

TEST(provider_select, blank_header_counts_as_absent) {
  auto in = make_input("gpt-4o", all_providers);
  in.header_provider = "  ";
  EXPECT_EQ(pick(in).provider, "openai");
  in.header_provider = "";
  EXPECT_EQ(pick(in).provider, "openai");
}

TEST(provider_select, provider_prefix_in_model) {
  auto in = make_input("openai/gpt-4o-mini", all_providers);
  auto s = pick(in);
  EXPECT_EQ(s.provider, "openai");
  EXPECT_EQ(s.model, "gpt-4o-mini");
  EXPECT_TRUE(s.model_rewritten);
  // Only the first '/' separates the provider.
  in.model = "local/meta-llama/Llama-3-8B";
  s = pick(in);
  EXPECT_EQ(s.provider, "local");
  EXPECT_EQ(s.model, "meta-llama/Llama-3-8B");
  EXPECT_TRUE(s.model_rewritten);
  // Works without auto-detection, and beats it.
  in = make_input("anthropic/gpt-4o", all_providers, false, "/v1/messages");
  s = pick(in);
  EXPECT_EQ(s.provider, "anthropic");
  EXPECT_EQ(s.model, "gpt-4o");
}

TEST(provider_select, foreign_prefix_leaves_model_untouched) {
  auto in = make_input("meta-llama/Llama-3-70B", all_providers);
  in.default_provider = "local";
  auto s = pick(in);
  EXPECT_EQ(s.provider, "local");
  EXPECT_EQ(s.model, "meta-llama/Llama-3-70B");
  EXPECT_FALSE(s.model_rewritten);
  // A prefix matching a provider the org lacks is not a provider either.
  in = make_input("openai/gpt-4o", {"local"});
  in.default_provider = "local";
  s = pick(in);
  EXPECT_EQ(s.provider, "local");
  EXPECT_EQ(s.model, "openai/gpt-4o");
  EXPECT_FALSE(s.model_rewritten);
  // Prefixes are case-sensitive, like provider names.
  in = make_input("OpenAI/gpt-4o", all_providers);
  in.default_provider = "local";
  EXPECT_EQ(pick(in).provider, "local");
}

TEST(provider_select, empty_model_after_prefix_is_not_a_selection) {
  auto in = make_input("openai/", all_providers);
  in.default_provider = "local";
  auto s = pick(in);
  EXPECT_EQ(s.provider, "local");
  EXPECT_EQ(s.model, "openai/");
  EXPECT_FALSE(s.model_rewritten);
  in.model = "/gpt-4o";
  EXPECT_EQ(pick(in).provider, "local");
}

TEST(provider_select, auto_detection_by_model) {
  struct expectation {
    const char* model;
    const char* provider;
  };
  for (auto [model, provider] : std::vector<expectation>{
         {"claude-3-5-sonnet-20241022", "anthropic"},
         {"claude-sonnet-4-20250514", "anthropic"},
         {"gpt-4o-mini", "openai"},
         {"gpt-3.5-turbo", "openai"},
         {"o1", "openai"},
         {"o1-mini", "openai"},
         {"o3", "openai"},
         {"o3-mini", "openai"},
         {"o4-mini", "openai"},
         {"chatgpt-4o-latest", "openai"},
         {"text-embedding-3-small", "openai"},
         {"dall-e-3", "openai"},
         {"whisper-1", "openai"},
         {"tts-1-hd", "openai"},
         {"gemini-1.5-pro", "google"},
         {"gemini-2.0-flash", "google"},
         {"mistral-large-latest", "mistral"},
         {"codestral-latest", "mistral"},
       }) {
    auto in = make_input(model, all_providers);
    auto s = pick(in);
    EXPECT_EQ(s.provider, provider) << model;
    EXPECT_EQ(s.model, model);
    EXPECT_FALSE(s.model_rewritten);
  }
}

TEST(provider_select, auto_detection_misses) {
  for (const char* model :
       {"", "claude", "gpt", "gpt4", "o2-mini", "o5", "chatgpt", "gemini",
        "mistral", "codestral", "llama3", "text-embedding", "tts", "Claude-3",
        "GPT-4o", "mixtral-8x7b", "open-mistral-7b", "xgpt-4"}) {
    auto in = make_input(model, all_providers);
    in.default_provider = "local";
    EXPECT_EQ(pick(in).provider, "local") << model;
  }
}

TEST(provider_select, auto_detection_by_messages_path) {
  auto in = make_input("some-model", all_providers, true, "/v1/messages");
  EXPECT_EQ(pick(in).provider, "anthropic");
  in.path = "/v1/messages?beta=true";
  EXPECT_EQ(pick(in).provider, "anthropic");
  in.path = "/v1/messages/count_tokens";
  EXPECT_EQ(pick(in).provider, "anthropic");
  in.default_provider = "local";
  for (const char* path : {"/v1/messagesx", "/v1/chat/completions",
                           "/v2/messages", "/messages", "/v1/message"}) {
    in.path = path;
    EXPECT_EQ(pick(in).provider, "local") << path;
  }
  // The path rule beats the model rule.
  in = make_input("gpt-4o", all_providers, true, "/v1/messages");
  EXPECT_EQ(pick(in).provider, "anthropic");
}

TEST(provider_select, auto_detection_needs_the_exact_provider_name) {
  auto in = make_input("gpt-4o", {"openai-prod", "local"});
  in.default_provider = "local";
  EXPECT_EQ(pick(in).provider, "local");
  // A rule whose provider is missing gives way to the next matching rule.
  in = make_input("gpt-4o", {"openai"}, true, "/v1/messages");
  EXPECT_EQ(pick(in).provider, "openai");
  in = make_input("claude-3-haiku", {"openai"});
  EXPECT_FALSE(std::holds_alternative<selection>(select_provider(in)));
}

TEST(provider_select, auto_detection_needs_the_feature) {
  auto in = make_input("gpt-4o", all_providers, false);
  in.default_provider = "local";
  EXPECT_EQ(pick(in).provider, "local");
  in.default_provider.reset();
  EXPECT_EQ(fail(in).code, errc::provider_required);
  in = make_input("x", all_providers, false, "/v1/messages");
  EXPECT_EQ(fail(in).code, errc::provider_required);
}

TEST(provider_select, default_provider) {
  auto in = make_input("my-finetune", all_providers);
  in.default_provider = "mistral";
  auto s = pick(in);
  EXPECT_EQ(s.provider, "mistral");
  EXPECT_EQ(s.model, "my-finetune");
  EXPECT_FALSE(s.model_rewritten);
  // A default that is no longer one of the org's providers is ignored.
  in.default_provider = "deleted";
  EXPECT_EQ(fail(in).code, errc::provider_required);
}

TEST(provider_select, nothing_matches) {
  auto in = make_input("my-model", all_providers);
  auto p = fail(in);
  EXPECT_EQ(p.code, errc::provider_required);
  EXPECT_NE(p.message.find("X-Gatehouse-Provider"), std::string::npos);
  EXPECT_NE(p.message.find("default provider"), std::string::npos);
  EXPECT_EQ(fail(make_input("gpt-4o", {})).code, errc::provider_required);
}

// Found by the provider_select fuzzer (tests/fuzz/regressions): a header
// with bytes that are not UTF-8 made a message no JSON answer can carry.
TEST(provider_select, unknown_header_provider_is_echoed_as_clean_text) {
  auto in = make_input("gpt-4o", all_providers);
  for (std::string header :
       {std::string{"\x9a%%\0\0", 5}, std::string{"open\xff" "ai"},
        std::string{"a\x01\x7f" "b"}, std::string(300, '\xe2')}) {
    in.header_provider = header;
    auto p = fail(in);
    EXPECT_TRUE(valid_utf8(p.message)) << p.message;
    EXPECT_FALSE(has_control_bytes(p.message)) << p.message;
    EXPECT_LT(p.message.size(), 100u);
    EXPECT_NO_THROW(nlohmann::json({{"message", p.message}}).dump());
  }
}
