#include "policy/proxy_body.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace gatehouse::policy;

TEST(proxy_body, inspect_openai_chat) {
  auto info = inspect_body(
    R"({"model":"gpt-4o-mini","stream":true,)"
    R"("stream_options":{"include_usage":true},"max_tokens":256,)"
    R"("messages":[{"role":"system","content":"Be brief."},)"
    R"({"role":"user","content":[{"type":"text","text":"Hello"},)"
    R"({"type":"image_url","image_url":{"url":"data:xyz"}}]}]})");
  EXPECT_TRUE(info.is_json_object);
  EXPECT_EQ(info.model, "gpt-4o-mini");
  EXPECT_TRUE(info.stream);
  EXPECT_TRUE(info.client_wants_usage);
  ASSERT_TRUE(info.max_tokens);
  EXPECT_EQ(*info.max_tokens, 256);
  // "Be brief." (9) + "Hello" (5); image URLs are not text.
  EXPECT_EQ(info.prompt_chars, 14u);
}

TEST(proxy_body, inspect_anthropic_messages) {
  auto info = inspect_body(
    R"({"model":"claude-3-5-sonnet-20241022","max_tokens":1024,)"
    R"("system":[{"type":"text","text":"You are terse."}],)"
    R"("messages":[{"role":"user","content":"Caf\u00e9?"},)"
    R"({"role":"assistant","content":[{"type":"tool_use","id":"t",)"
    R"("name":"f","input":{"text":"not prompt text"}}]},)"
    R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t",)"
    R"("content":[{"type":"text","text":"42"}]}]}]})");
  EXPECT_TRUE(info.is_json_object);
  EXPECT_EQ(info.model, "claude-3-5-sonnet-20241022");
  EXPECT_FALSE(info.stream);
  EXPECT_FALSE(info.client_wants_usage);
  EXPECT_EQ(info.max_tokens, 1024);
  // "You are terse." (14) + "Café?" (5 code points) + "42" (2).
  EXPECT_EQ(info.prompt_chars, 21u);
  auto plain = inspect_body(R"({"system":"abc","messages":[]})");
  EXPECT_EQ(plain.prompt_chars, 3u);
}

TEST(proxy_body, inspect_prompt_and_input) {
  EXPECT_EQ(inspect_body(R"({"prompt":"four"})").prompt_chars, 4u);
  EXPECT_EQ(inspect_body(R"({"prompt":["ab","cd"]})").prompt_chars, 4u);
  EXPECT_EQ(inspect_body(R"({"input":"embed me"})").prompt_chars, 8u);
  EXPECT_EQ(inspect_body(R"({"input":["a","bc",7]})").prompt_chars, 3u);
  // Responses API items.
  EXPECT_EQ(inspect_body(R"({"input":[{"role":"user","content":[{"type":)"
                         R"("input_text","text":"hey"}]}]})")
              .prompt_chars,
            3u);
  EXPECT_EQ(
    inspect_body(R"({"input":[{"role":"user","content":"hi"}]})").prompt_chars,
    2u);
  // Token-id prompts are not text.
  EXPECT_EQ(inspect_body(R"({"prompt":[1,2,3]})").prompt_chars, 0u);
}

TEST(proxy_body, inspect_max_tokens_variants) {
  EXPECT_EQ(inspect_body(R"({"max_completion_tokens":50})").max_tokens, 50);
  EXPECT_EQ(inspect_body(R"({"max_output_tokens":70})").max_tokens, 70);
  EXPECT_EQ(
    inspect_body(R"({"max_tokens":10,"max_completion_tokens":20})").max_tokens,
    20);
  EXPECT_EQ(inspect_body(R"({"max_tokens":0})").max_tokens, 0);
  EXPECT_FALSE(inspect_body(R"({"max_tokens":-1})").max_tokens);
  EXPECT_FALSE(inspect_body(R"({"max_tokens":1.5})").max_tokens);
  EXPECT_FALSE(inspect_body(R"({"max_tokens":"100"})").max_tokens);
  EXPECT_FALSE(inspect_body(R"({"max_tokens":null})").max_tokens);
  EXPECT_FALSE(
    inspect_body(R"({"max_tokens":18446744073709551615})").max_tokens);
  // A bad preferred key falls back to the next one.
  EXPECT_EQ(
    inspect_body(R"({"max_completion_tokens":"x","max_tokens":9})").max_tokens,
    9);
}

TEST(proxy_body, inspect_loose_types) {
  auto info = inspect_body(
    R"({"model":5,"stream":"true","stream_options":{"include_usage":1},)"
    R"("messages":"hi"})");
  EXPECT_TRUE(info.is_json_object);
  EXPECT_EQ(info.model, "");
  EXPECT_FALSE(info.stream);
  EXPECT_FALSE(info.client_wants_usage);
  EXPECT_EQ(info.prompt_chars, 0u);
  auto no_usage = inspect_body(
    R"({"stream":true,"stream_options":{"include_usage":false}})");
  EXPECT_TRUE(no_usage.stream);
  EXPECT_FALSE(no_usage.client_wants_usage);
  EXPECT_FALSE(inspect_body(R"({"stream":false})").stream);
}

TEST(proxy_body, inspect_non_objects) {
  for (const char* body : {"", "null", "[]", "[{\"model\":\"x\"}]", "\"x\"",
                           "{", "{\"model\":\"x\"} trailing", "\xff"}) {
    auto info = inspect_body(body);
    EXPECT_FALSE(info.is_json_object) << body;
    EXPECT_EQ(info.model, "") << body;
    EXPECT_FALSE(info.stream) << body;
    EXPECT_FALSE(info.max_tokens) << body;
    EXPECT_EQ(info.prompt_chars, 0u) << body;
  }
}

TEST(proxy_body, inspect_deep_nesting) {
  std::string deep = R"({"model":"m","messages":[{"content":)";
  for (int i = 0; i < 50000; ++i)
    deep += R"([{"content":)";
  deep += R"("x")";
  for (int i = 0; i < 50000; ++i)
    deep += "}]";
  deep += "}]}";
  // Nesting past the limit makes the body unacceptable JSON (the proxy
  // answers 400), and it is never rewritten.
  auto info = inspect_body(deep);
  EXPECT_EQ(info.fault, json_fault::too_deep);
  EXPECT_FALSE(info.is_json_object);
  EXPECT_EQ(rewrite_body(deep, std::string{"n"}, true), deep);
  // Within the limit, text buried beyond the search depth is not counted.
  std::string nested = R"({"model":"m","messages":[{"content":)";
  for (int i = 0; i < 20; ++i)
    nested += R"([{"content":)";
  nested += R"("x")";
  for (int i = 0; i < 20; ++i)
    nested += "}]";
  nested += "}]}";
  auto ok = inspect_body(nested);
  EXPECT_EQ(ok.fault, json_fault::none);
  EXPECT_EQ(ok.model, "m");
  EXPECT_EQ(ok.prompt_chars, 0u);
}

TEST(proxy_body, rewrite_model_keeps_member_order) {
  std::string body
    = R"({"stream":true,"model":"openai/gpt-4o","messages":[{"role":"user",)"
      R"("content":"hi"}],"temperature":0.7,"zeta":1,"alpha":2})";
  EXPECT_EQ(rewrite_body(body, std::string{"gpt-4o"}, false),
            R"({"stream":true,"model":"gpt-4o","messages":[{"role":"user",)"
            R"("content":"hi"}],"temperature":0.7,"zeta":1,"alpha":2})");
}

TEST(proxy_body, rewrite_injects_include_usage) {
  EXPECT_EQ(rewrite_body(R"({"model":"m","stream":true})", std::nullopt, true),
            R"({"model":"m","stream":true,)"
            R"("stream_options":{"include_usage":true}})");
  // Other stream_options members are kept, in order.
  EXPECT_EQ(rewrite_body(R"({"stream_options":{"z":1,"include_usage":false,)"
                         R"("a":2},"model":"m"})",
                         std::nullopt, true),
            R"({"stream_options":{"z":1,"include_usage":true,"a":2},)"
            R"("model":"m"})");
  EXPECT_EQ(rewrite_body(R"({"stream_options":{"b":1}})", std::nullopt, true),
            R"({"stream_options":{"b":1,"include_usage":true}})");
  // A stream_options that is not an object is replaced.
  EXPECT_EQ(rewrite_body(R"({"stream_options":null})", std::nullopt, true),
            R"({"stream_options":{"include_usage":true}})");
  EXPECT_EQ(rewrite_body(R"({"stream_options":{"include_usage":"yes"}})",
                         std::nullopt, true),
            R"({"stream_options":{"include_usage":true}})");
}

TEST(proxy_body, rewrite_both) {
  EXPECT_EQ(
    rewrite_body(R"({"model":"a/b","stream":true})", std::string{"b"}, true),
    R"({"model":"b","stream":true,)"
    R"("stream_options":{"include_usage":true}})");
  // A missing model member is added last.
  EXPECT_EQ(rewrite_body(R"({"input":"x"})", std::string{"m"}, false),
            R"({"input":"x","model":"m"})");
  EXPECT_EQ(rewrite_body(R"({"model":null,"x":1})", std::string{"m"}, false),
            R"({"model":"m","x":1})");
}

TEST(proxy_body, rewrite_passthrough_is_byte_identical) {
  const std::string pretty
    = "{\n  \"model\" : \"gpt-4o\",\n"
      "  \"stream\": true,\n"
      "  \"stream_options\": { \"include_usage\": true },"
      "\n  \"n\": 1.50,\n  \"s\": \"\\u00e9\\/\"\n}\n";
  EXPECT_EQ(rewrite_body(pretty, std::nullopt, false), pretty);
  EXPECT_EQ(rewrite_body(pretty, std::string{"gpt-4o"}, false), pretty);
  EXPECT_EQ(rewrite_body(pretty, std::nullopt, true), pretty);
  EXPECT_EQ(rewrite_body(pretty, std::string{"gpt-4o"}, true), pretty);
  for (const char* body : {"", "not json", "[1, 2]", "null", " \"s\" ",
                           "{\"a\":", "{\"model\":\"x\"} {}", "\xff\xfe"}) {
    EXPECT_EQ(rewrite_body(body, std::string{"m"}, true), body) << body;
  }
}

TEST(proxy_body, rewrite_keeps_values) {
  // Unicode, escapes, big integers and nested arrays survive the rewrite
  // (serialized compactly, non-ASCII as UTF-8).
  auto out = rewrite_body(
    R"({"model":"x","s":"caf\u00e9 \"q\" \n","big":9007199254740993,)"
    R"("neg":-3,"f":0.1,"arr":[[],{},[1,{"k":null}]],"t":false})",
    std::string{"y"}, false);
  EXPECT_EQ(out, "{\"model\":\"y\",\"s\":\"caf\xc3\xa9 \\\"q\\\" \\n\","
                 "\"big\":9007199254740993,\"neg\":-3,\"f\":0.1,"
                 "\"arr\":[[],{},[1,{\"k\":null}]],\"t\":false}");
  // Brackets inside strings do not count as nesting.
  std::string brackets
    = R"({"model":"x","s":")" + std::string(2000, '[') + R"(\"]"})";
  auto rewritten = rewrite_body(brackets, std::string{"y"}, false);
  EXPECT_EQ(rewritten.substr(0, 16), R"({"model":"y","s")");
  EXPECT_EQ(inspect_body(rewritten).model, "y");
}

TEST(append_member, adds_a_last_member_and_keeps_every_other_byte) {
  const std::string member = R"("stream_options":{"include_usage":true})";
  EXPECT_EQ(append_member(R"({"model":"m", "stream":true} )", member),
            R"({"model":"m", "stream":true,"stream_options":{"include_usage":true}} )");
  EXPECT_EQ(append_member("{}", member),
            R"({"stream_options":{"include_usage":true}})");
  EXPECT_EQ(append_member(" { \n } ", member),
            " { \n \"stream_options\":{\"include_usage\":true}} ");
  // The result is what a full rewrite would send.
  const std::string body = R"({"model":"m","stream":true,"n":{"a":[1,2]}})";
  EXPECT_EQ(nlohmann::json::parse(append_member(body, member)),
            nlohmann::json::parse(rewrite_body(body, std::nullopt, true)));
}
