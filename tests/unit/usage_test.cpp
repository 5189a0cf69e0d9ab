#include "policy/usage.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace gatehouse::policy;

namespace {

sse_event data_event(std::string data, std::string name = "") {
  sse_event ev;
  ev.event = std::move(name);
  ev.data = std::move(data);
  ev.has_data = true;
  return ev;
}

std::vector<sse_event> parse_stream(const std::string& text) {
  sse_parser p;
  std::vector<sse_event> out;
  p.feed(text, out);
  p.finish(out);
  return out;
}

} // namespace

TEST(usage, openai_body) {
  auto u = usage_from_body(
    R"({"id":"chatcmpl-1","object":"chat.completion","choices":[],)"
    R"("usage":{"prompt_tokens":19,"completion_tokens":10,)"
    R"("total_tokens":29,"prompt_tokens_details":{"cached_tokens":0}}})");
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.input_tokens, 19);
  EXPECT_EQ(u.output_tokens, 10);
}

TEST(usage, anthropic_body) {
  auto u = usage_from_body(
    R"({"id":"msg_1","type":"message","content":[{"type":"text","text":"Hi"}],)"
    R"("usage":{"input_tokens":2095,"output_tokens":503,)"
    R"("cache_read_input_tokens":0}})");
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.input_tokens, 2095);
  EXPECT_EQ(u.output_tokens, 503);
}

TEST(usage, embeddings_body_has_only_prompt_tokens) {
  auto u = usage_from_body(
    R"({"object":"list","data":[],"usage":{"prompt_tokens":8,)"
    R"("total_tokens":8}})");
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.input_tokens, 8);
  EXPECT_EQ(u.output_tokens, 0);
}

TEST(usage, absent_or_malformed_usage) {
  for (const char* body :
       {"", "not json", "{", "[]", "null", "42", R"("usage")",
        R"({"usage":null})", R"({"usage":{}})", R"({"usage":[1,2]})",
        R"({"usage":{"total_tokens":5}})", R"({"usage":{"prompt_tokens":"5"}})",
        R"({"usage":{"prompt_tokens":-1,"completion_tokens":-2}})",
        R"({"usage":{"prompt_tokens":1.5}})",
        R"({"usage":{"prompt_tokens":1e300}})",
        R"({"usage":{"prompt_tokens":18446744073709551615}})",
        R"({"choices":[{"message":{"usage":{"prompt_tokens":1}}}]})",
        R"({"usage":{"prompt_tokens":1})", "\xff\xfe"}) {
    auto u = usage_from_body(body);
    EXPECT_FALSE(u.present) << body;
    EXPECT_EQ(u.input_tokens, 0) << body;
    EXPECT_EQ(u.output_tokens, 0) << body;
  }
}

TEST(usage, integral_floats_and_partial_counts) {
  auto f = usage_from_body(R"({"usage":{"input_tokens":7.0}})");
  EXPECT_TRUE(f.present);
  EXPECT_EQ(f.input_tokens, 7);
  EXPECT_EQ(f.output_tokens, 0);
  // OpenAI naming wins when both are present.
  auto both = usage_from_body(
    R"({"usage":{"input_tokens":1,"output_tokens":2,"prompt_tokens":3,)"
    R"("completion_tokens":4}})");
  EXPECT_EQ(both.input_tokens, 3);
  EXPECT_EQ(both.output_tokens, 4);
}

TEST(usage, deeply_nested_body_does_not_crash) {
  // Past the JSON depth limit an answer is not read (its usage is then
  // estimated); within it, usage is found.
  std::string deep = R"({"usage":{"prompt_tokens":1},"x":)";
  deep += std::string(100000, '[') + std::string(100000, ']') + "}";
  auto u = usage_from_body(deep);
  EXPECT_FALSE(u.present);
  std::string nested = R"({"usage":{"prompt_tokens":1},"x":)";
  nested += std::string(100, '[') + std::string(100, ']') + "}";
  auto v = usage_from_body(nested);
  EXPECT_TRUE(v.present);
  EXPECT_EQ(v.input_tokens, 1);
}

TEST(usage, openai_stream_usage_chunk) {
  stream_usage su;
  EXPECT_FALSE(su.result().present);
  auto evs = parse_stream(
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n"
    ": ping\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
    "\"completion_tokens\":3,\"total_tokens\":15}}\n\n"
    "data: [DONE]\n\n");
  ASSERT_EQ(evs.size(), 4u);
  su.on_event(evs[0]);
  su.on_event(evs[1]);
  EXPECT_FALSE(su.result().present);
  su.on_event(evs[2]);
  su.on_event(evs[3]);
  auto u = su.result();
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.input_tokens, 12);
  EXPECT_EQ(u.output_tokens, 3);
}

TEST(usage, openai_usage_on_a_content_chunk) {
  // Some compatible servers put usage on the last content chunk.
  stream_usage su;
  su.on_event(data_event(
    R"({"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":5,"completion_tokens":1}})"));
  EXPECT_TRUE(su.result().present);
  EXPECT_EQ(su.result().input_tokens, 5);
  EXPECT_EQ(su.result().output_tokens, 1);
}

TEST(usage, anthropic_stream) {
  auto evs = parse_stream(
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
    "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null},"
    "\"usage\":{\"output_tokens\":9}}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n");
  ASSERT_EQ(evs.size(), 5u);
  stream_usage su;
  su.on_event(evs[0]);
  EXPECT_TRUE(su.result().present);
  EXPECT_EQ(su.result().input_tokens, 25);
  EXPECT_EQ(su.result().output_tokens, 1);
  su.on_event(evs[1]);
  su.on_event(evs[2]);
  EXPECT_EQ(su.result().output_tokens, 9);
  su.on_event(evs[3]);
  su.on_event(evs[4]);
  EXPECT_EQ(su.result().input_tokens, 25);
  EXPECT_EQ(su.result().output_tokens, 15);
}

TEST(usage, anthropic_message_delta_with_input_tokens) {
  stream_usage su;
  su.on_event(data_event(
    R"({"type":"message_start","message":{"usage":{"input_tokens":10}}})",
    "message_start"));
  EXPECT_EQ(su.result().output_tokens, 0);
  su.on_event(
    data_event(R"({"type":"message_delta","usage":{"input_tokens":12,)"
               R"("output_tokens":4}})",
               "message_delta"));
  EXPECT_EQ(su.result().input_tokens, 12);
  EXPECT_EQ(su.result().output_tokens, 4);
  // A message_delta with only output keeps the input count.
  su.on_event(data_event(R"({"type":"message_delta","usage":)"
                         R"({"output_tokens":6}})"));
  EXPECT_EQ(su.result().input_tokens, 12);
  EXPECT_EQ(su.result().output_tokens, 6);
}

TEST(usage, event_name_used_when_json_has_no_type) {
  stream_usage su;
  su.on_event(
    data_event(R"({"message":{"usage":{"input_tokens":3}}})", "message_start"));
  EXPECT_TRUE(su.result().present);
  EXPECT_EQ(su.result().input_tokens, 3);
}

TEST(usage, openai_responses_stream) {
  stream_usage su;
  su.on_event(
    data_event(R"({"type":"response.created","response":{"usage":null}})",
               "response.created"));
  EXPECT_FALSE(su.result().present);
  su.on_event(data_event(
    R"({"type":"response.completed","response":{"id":"resp_1",)"
    R"("usage":{"input_tokens":36,"output_tokens":87,"total_tokens":123}}})",
    "response.completed"));
  EXPECT_TRUE(su.result().present);
  EXPECT_EQ(su.result().input_tokens, 36);
  EXPECT_EQ(su.result().output_tokens, 87);
}

TEST(usage, stream_ignores_noise) {
  stream_usage su;
  sse_event comment;
  comment.raw = ": usage\n\n";
  su.on_event(comment);
  su.on_event(data_event("[DONE]"));
  su.on_event(data_event("usage"));
  su.on_event(data_event(R"({"usage":"lots"})"));
  su.on_event(data_event(R"({"usage":{"prompt_tokens":-5}})"));
  su.on_event(data_event(R"([{"usage":{"prompt_tokens":5}}])"));
  su.on_event(data_event(R"({"type":"message_start","usage":{}})"));
  EXPECT_FALSE(su.result().present);
}

TEST(usage, usage_only_chunk) {
  EXPECT_TRUE(is_usage_only_chunk(
    data_event(R"({"id":"c","object":"chat.completion.chunk","choices":[],)"
               R"("usage":{"prompt_tokens":1,"completion_tokens":2}})")));
  // Content chunks, null usage, missing or non-empty choices: not it.
  for (const char* data :
       {R"({"choices":[{"delta":{"content":"x"}}],"usage":null})",
        R"({"choices":[],"usage":null})",
        R"({"choices":[{"delta":{}}],"usage":{"prompt_tokens":1}})",
        R"({"usage":{"prompt_tokens":1}})",
        R"({"choices":{},"usage":{"prompt_tokens":1}})",
        R"({"choices":[],"usage":1})", "[DONE]", "", "{"}) {
    EXPECT_FALSE(is_usage_only_chunk(data_event(data))) << data;
  }
  sse_event no_data;
  no_data.data = R"({"choices":[],"usage":{"prompt_tokens":1}})";
  EXPECT_FALSE(is_usage_only_chunk(no_data));
}

TEST(usage, estimate_tokens) {
  EXPECT_EQ(estimate_tokens(0), 0);
  EXPECT_EQ(estimate_tokens(1), 1);
  EXPECT_EQ(estimate_tokens(3), 1);
  EXPECT_EQ(estimate_tokens(4), 1);
  EXPECT_EQ(estimate_tokens(5), 2);
  EXPECT_EQ(estimate_tokens(8), 2);
  EXPECT_EQ(estimate_tokens(9), 3);
  EXPECT_EQ(estimate_tokens(4000001), 1000001);
}

TEST(usage, count_chars) {
  EXPECT_EQ(count_chars(""), 0u);
  EXPECT_EQ(count_chars("abc"), 3u);
  EXPECT_EQ(count_chars("caf\xc3\xa9"), 4u);
  EXPECT_EQ(count_chars("\xe2\x82\xac\xf0\x9f\x98\x80"), 2u);
}

TEST(usage, text_counter_openai) {
  stream_text_counter tc;
  auto evs = parse_stream(
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":\"\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}"
    "\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" w\\u00f6rld"
    "\"}}]}\n\n"
    ": ping\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":null}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
    "0,\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]}}]}"
    "\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n"
    "data: [DONE]\n\n");
  for (const auto& ev : evs)
    tc.on_event(ev);
  // "Hello" (5) + " wörld" (6) + "{\"a\":1}" (7).
  EXPECT_EQ(tc.chars(), 18u);
}

TEST(usage, text_counter_several_choices_and_legacy) {
  stream_text_counter tc;
  tc.on_event(data_event(
    R"({"choices":[{"delta":{"content":"ab"}},{"delta":{"content":"cde"}},)"
    R"("x",{"delta":"y"},{"delta":{"refusal":"no"}}]})"));
  EXPECT_EQ(tc.chars(), 7u);
  tc.on_event(data_event(R"({"choices":[{"text":"four","index":0}]})"));
  EXPECT_EQ(tc.chars(), 11u);
}

TEST(usage, text_counter_anthropic) {
  stream_text_counter tc;
  tc.on_event(
    data_event(R"({"type":"content_block_delta","index":0,"delta":{"type":)"
               R"("text_delta","text":"Hello"}})",
               "content_block_delta"));
  tc.on_event(
    data_event(R"({"type":"content_block_delta","index":1,"delta":{"type":)"
               R"("input_json_delta","partial_json":"{\"x\":"}})",
               "content_block_delta"));
  tc.on_event(
    data_event(R"({"type":"content_block_delta","index":2,"delta":{"type":)"
               R"("thinking_delta","thinking":"hmm"}})",
               "content_block_delta"));
  // Other event types carry no generated text.
  tc.on_event(data_event(
    R"({"type":"content_block_start","content_block":{"type":"text",)"
    R"("text":"ignored"}})",
    "content_block_start"));
  tc.on_event(data_event(R"({"type":"message_delta","delta":{"text":"no"}})"));
  EXPECT_EQ(tc.chars(), 5u + 5u + 3u);
}

TEST(usage, text_counter_responses_and_noise) {
  stream_text_counter tc;
  tc.on_event(
    data_event(R"({"type":"response.output_text.delta","delta":"Hi there"})"));
  tc.on_event(data_event(
    R"({"type":"response.function_call_arguments.delta","delta":"{}"})"));
  tc.on_event(data_event("[DONE]"));
  tc.on_event(data_event("{broken"));
  tc.on_event(data_event(R"({"choices":"x"})"));
  sse_event comment;
  tc.on_event(comment);
  EXPECT_EQ(tc.chars(), 10u);
  EXPECT_EQ(estimate_tokens(tc.chars()), 3);
}
