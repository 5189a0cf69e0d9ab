#include "policy/translate.hpp"
#include "policy/translate_request.hpp"
#include "policy/translate_response.hpp"
#include "policy/translate_stream.hpp"
#include "policy/usage.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace gatehouse::policy;
using nlohmann::json;

namespace {

json to_anthropic(const std::string& body) {
  auto r = translate_request(body, api_format::openai, api_format::anthropic,
                             std::nullopt);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? json::parse(r.value()) : json{};
}

json to_openai(const std::string& body) {
  auto r = translate_request(body, api_format::anthropic, api_format::openai,
                             std::nullopt);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? json::parse(r.value()) : json{};
}

problem refused(const std::string& body, api_format from, api_format to) {
  auto r = translate_request(body, from, to, std::nullopt);
  EXPECT_FALSE(r.ok());
  return r.ok() ? problem{errc::internal_error, "", std::nullopt} : r.error();
}

sse_event event(std::string name, std::string data) {
  sse_event ev;
  ev.event = std::move(name);
  ev.data = std::move(data);
  ev.has_data = true;
  return ev;
}

std::vector<sse_event> run(stream_translator& t,
                           const std::vector<sse_event>& in) {
  std::vector<sse_event> out;
  for (auto& ev : in)
    t.on_event(ev, out);
  t.finish(out);
  return out;
}

} // namespace

TEST(translate_format, defaults_and_paths) {
  EXPECT_EQ(default_provider_format("anthropic", "https://example.com"),
            api_format::anthropic);
  EXPECT_EQ(default_provider_format("claude", "https://api.anthropic.com"),
            api_format::anthropic);
  EXPECT_EQ(default_provider_format("x", "https://anthropic.com/v"),
            api_format::anthropic);
  EXPECT_EQ(default_provider_format("x", "https://notanthropic.com"),
            api_format::openai);
  EXPECT_EQ(default_provider_format("openai", "https://api.openai.com"),
            api_format::openai);
  EXPECT_EQ(default_provider_format("x", "not a url"), api_format::openai);
  EXPECT_EQ(client_format_of("/v1/chat/completions"), api_format::openai);
  EXPECT_EQ(client_format_of("/v1/messages"), api_format::anthropic);
  EXPECT_FALSE(client_format_of("/v1/embeddings"));
  EXPECT_EQ(translation_label(api_format::openai, api_format::anthropic),
            "openai->anthropic");
  EXPECT_EQ(parse_api_format("anthropic"), api_format::anthropic);
  EXPECT_FALSE(parse_api_format("Anthropic"));
}

TEST(translate_request, openai_to_anthropic_basics) {
  auto j = to_anthropic(R"({"model":"claude-3-5-haiku","messages":[
    {"role":"system","content":"Be brief."},
    {"role":"user","content":"Hi"}],
    "temperature":0.5,"top_p":0.9,"stop":"END","stream":true,
    "stream_options":{"include_usage":true},"user":"u1","seed":7})");
  EXPECT_EQ(j["model"], "claude-3-5-haiku");
  EXPECT_EQ(j["system"], "Be brief.");
  ASSERT_EQ(j["messages"].size(), 1u);
  EXPECT_EQ(j["messages"][0]["role"], "user");
  EXPECT_EQ(j["messages"][0]["content"][0]["text"], "Hi");
  EXPECT_EQ(j["max_tokens"], default_anthropic_max_tokens);
  EXPECT_EQ(j["temperature"], 0.5);
  EXPECT_EQ(j["top_p"], 0.9);
  EXPECT_EQ(j["stop_sequences"], json::array({"END"}));
  EXPECT_EQ(j["stream"], true);
  EXPECT_FALSE(j.contains("stream_options"));
  EXPECT_FALSE(j.contains("seed"));
  EXPECT_EQ(j["metadata"]["user_id"], "u1");
}

TEST(translate_request, openai_max_tokens_and_model_override) {
  auto r = translate_request(
    R"({"model":"a","max_completion_tokens":99,"max_tokens":5,
        "messages":[{"role":"user","content":"x"}]})",
    api_format::openai, api_format::anthropic, std::string{"b"});
  ASSERT_TRUE(r.ok());
  auto j = json::parse(r.value());
  EXPECT_EQ(j["max_tokens"], 99);
  EXPECT_EQ(j["model"], "b");
}

TEST(translate_request, openai_system_parts_and_images) {
  auto j = to_anthropic(R"({"model":"m","messages":[
    {"role":"system","content":[{"type":"text","text":"A"}]},
    {"role":"developer","content":"B"},
    {"role":"user","content":[{"type":"text","text":"look"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
      {"type":"image_url","image_url":{"url":"https://x.test/a.jpg"}}]}]})");
  ASSERT_TRUE(j["system"].is_array());
  EXPECT_EQ(j["system"][1]["text"], "B");
  auto& c = j["messages"][0]["content"];
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[1]["source"]["type"], "base64");
  EXPECT_EQ(c[1]["source"]["media_type"], "image/png");
  EXPECT_EQ(c[1]["source"]["data"], "AAAA");
  EXPECT_EQ(c[2]["source"]["url"], "https://x.test/a.jpg");
}

TEST(translate_request, openai_tools_calls_and_results) {
  auto j = to_anthropic(R"({"model":"m","messages":[
    {"role":"user","content":"weather?"},
    {"role":"assistant","content":"","tool_calls":[
      {"id":"call_1","type":"function",
       "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
      {"id":"call_2","type":"function",
       "function":{"name":"get_time","arguments":"{}"}}]},
    {"role":"tool","tool_call_id":"call_1","content":"sunny"},
    {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"noon"}]},
    {"role":"user","content":"thanks"}],
    "tools":[{"type":"function","function":{"name":"get_weather",
      "description":"d","parameters":{"type":"object","properties":{}}}},
      {"type":"function","function":{"name":"get_time"}}],
    "tool_choice":{"type":"function","function":{"name":"get_weather"}},
    "parallel_tool_calls":false})");
  auto& m = j["messages"];
  ASSERT_EQ(m.size(), 3u);
  auto& a = m[1]["content"];
  ASSERT_EQ(a.size(), 2u); // the empty text is left out
  EXPECT_EQ(a[0]["type"], "tool_use");
  EXPECT_EQ(a[0]["id"], "call_1");
  EXPECT_EQ(a[0]["input"]["city"], "Paris");
  auto& u = m[2]["content"];
  ASSERT_EQ(u.size(), 3u); // both results and the text, in one user turn
  EXPECT_EQ(u[0]["type"], "tool_result");
  EXPECT_EQ(u[0]["tool_use_id"], "call_1");
  EXPECT_EQ(u[0]["content"], "sunny");
  EXPECT_EQ(u[1]["content"][0]["text"], "noon");
  EXPECT_EQ(u[2]["text"], "thanks");
  EXPECT_EQ(j["tools"][0]["input_schema"]["type"], "object");
  EXPECT_EQ(j["tools"][1]["input_schema"]["type"], "object");
  EXPECT_EQ(j["tool_choice"]["type"], "tool");
  EXPECT_EQ(j["tool_choice"]["name"], "get_weather");
  EXPECT_EQ(j["tool_choice"]["disable_parallel_tool_use"], true);
  auto r = to_anthropic(R"({"model":"m","messages":[],"tools":[
    {"type":"function","function":{"name":"f"}}],"tool_choice":"required"})");
  EXPECT_EQ(r["tool_choice"]["type"], "any");
}

TEST(translate_request, openai_refusals_name_the_field) {
  auto oa = api_format::openai;
  auto an = api_format::anthropic;
  auto p = refused(R"({"messages":[{"role":"user","content":[
    {"type":"input_audio","input_audio":{}}]}]})",
                   oa, an);
  EXPECT_EQ(p.code, errc::invalid_request);
  EXPECT_NE(p.message.find("messages[0].content[0].type"), std::string::npos);
  p = refused(R"({"n":2,"messages":[]})", oa, an);
  EXPECT_NE(p.message.find("'n'"), std::string::npos);
  p = refused(R"({"messages":[{"role":"assistant","tool_calls":[
    {"id":"c","type":"function","function":{"name":"f","arguments":"[1"}}]}]})",
              oa, an);
  EXPECT_NE(p.message.find("arguments"), std::string::npos);
  p = refused(R"({"messages":[],"response_format":{"type":"json_schema"}})", oa,
              an);
  EXPECT_NE(p.message.find("response_format"), std::string::npos);
  p = refused(R"({"messages":"hi"})", oa, an);
  EXPECT_NE(p.message.find("'messages'"), std::string::npos);
  p = refused(R"({"messages":[{"role":"function","content":"x"}]})", oa, an);
  EXPECT_NE(p.message.find("role"), std::string::npos);
  p = refused(R"({"messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"ftp://x"}}]}]})",
              oa, an);
  EXPECT_NE(p.message.find("url"), std::string::npos);
  p = refused(R"({"max_tokens":-1,"messages":[]})", oa, an);
  EXPECT_NE(p.message.find("max_tokens"), std::string::npos);
  p = refused(R"([1,2])", oa, an);
  p = refused(R"({"messages":[)", oa, an);
  EXPECT_NE(p.message.find("request body"), std::string::npos);
}

TEST(translate_request, anthropic_to_openai_basics) {
  auto j = to_openai(R"({"model":"gpt-4o","max_tokens":100,
    "system":[{"type":"text","text":"A"},{"type":"text","text":"B"}],
    "messages":[{"role":"user","content":"Hi"}],
    "stop_sequences":["X"],"temperature":0.2,"top_k":5,"stream":true,
    "metadata":{"user_id":"u"}})");
  auto& m = j["messages"];
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0]["role"], "system");
  EXPECT_EQ(m[0]["content"], "A\nB");
  EXPECT_EQ(m[1]["content"], "Hi");
  EXPECT_EQ(j["max_tokens"], 100);
  EXPECT_EQ(j["stop"], json::array({"X"}));
  EXPECT_EQ(j["temperature"], 0.2);
  EXPECT_FALSE(j.contains("top_k"));
  EXPECT_EQ(j["stream"], true);
  EXPECT_EQ(j["stream_options"]["include_usage"], true);
  EXPECT_EQ(j["user"], "u");
}

TEST(translate_request, anthropic_tools_and_results) {
  auto j = to_openai(R"({"model":"m","max_tokens":10,"messages":[
    {"role":"user","content":[{"type":"text","text":"see"},
      {"type":"image","source":{"type":"base64","media_type":"image/png",
       "data":"QQ=="}}]},
    {"role":"assistant","content":[{"type":"thinking","thinking":"hm"},
      {"type":"text","text":"Let me check."},
      {"type":"tool_use","id":"toolu_1","name":"get_weather",
       "input":{"city":"Paris"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1",
      "content":[{"type":"text","text":"sunny"}]},{"type":"text","text":"ok?"}]}],
    "tools":[{"name":"get_weather","description":"d",
      "input_schema":{"type":"object"}}],
    "tool_choice":{"type":"any","disable_parallel_tool_use":true}})");
  auto& m = j["messages"];
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0]["content"][1]["image_url"]["url"],
            "data:image/png;base64,QQ==");
  EXPECT_EQ(m[1]["content"], "Let me check.");
  EXPECT_EQ(m[1]["tool_calls"][0]["id"], "toolu_1");
  EXPECT_EQ(m[1]["tool_calls"][0]["function"]["arguments"],
            R"({"city":"Paris"})");
  EXPECT_EQ(m[2]["role"], "tool");
  EXPECT_EQ(m[2]["tool_call_id"], "toolu_1");
  EXPECT_EQ(m[2]["content"], "sunny");
  EXPECT_EQ(m[3]["content"][0]["text"], "ok?");
  EXPECT_EQ(j["tools"][0]["function"]["parameters"]["type"], "object");
  EXPECT_EQ(j["tool_choice"], "required");
  EXPECT_EQ(j["parallel_tool_calls"], false);
}

TEST(translate_request, anthropic_refusals) {
  auto an = api_format::anthropic;
  auto oa = api_format::openai;
  auto p = refused(R"({"messages":[{"role":"user","content":[
    {"type":"document","source":{}}]}]})",
                   an, oa);
  EXPECT_NE(p.message.find("messages[0].content[0].type"), std::string::npos);
  p = refused(R"({"messages":[],"tools":[{"type":"web_search_20250305",
    "name":"web_search"}]})",
              an, oa);
  EXPECT_NE(p.message.find("tools[0].type"), std::string::npos);
  p = refused(R"({"messages":[],"thinking":{"type":"enabled"}})", an, oa);
  EXPECT_NE(p.message.find("thinking"), std::string::npos);
  p = refused(R"({"messages":[{"role":"system","content":"x"}]})", an, oa);
  EXPECT_NE(p.message.find("role"), std::string::npos);
}

TEST(translate_request, hostile_inputs_never_throw) {
  std::string deep(200, '[');
  for (auto from : {api_format::openai, api_format::anthropic}) {
    auto to
      = from == api_format::openai ? api_format::anthropic : api_format::openai;
    for (std::string body :
         {deep, std::string{"\xff"}, std::string{R"({"messages":[1,null]})"},
          std::string{R"({"messages":[{"role":1}]})"},
          std::string{R"({"messages":[{"role":"user","content":[null]}]})"},
          std::string{R"({"messages":[{"role":"assistant","content":7}]})"},
          std::string{R"({"tools":{},"messages":[]})"},
          std::string{R"({"stop":5,"stop_sequences":5,"messages":[]})"}})
      EXPECT_FALSE(translate_request(body, from, to, std::nullopt).ok())
        << body;
  }
}

TEST(translate_response, openai_to_anthropic) {
  auto r = translate_response(R"({"id":"chatcmpl-1","object":"chat.completion",
    "model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant",
    "content":"Hello","tool_calls":[{"id":"call_1","type":"function",
    "function":{"name":"f","arguments":"{\"a\":1}"}}]},
    "finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}})",
                              api_format::openai, api_format::anthropic, 0);
  ASSERT_TRUE(r.ok());
  auto j = json::parse(r.value());
  EXPECT_EQ(j["id"], "chatcmpl-1");
  EXPECT_EQ(j["type"], "message");
  EXPECT_EQ(j["model"], "gpt-4o");
  EXPECT_EQ(j["content"][0]["text"], "Hello");
  EXPECT_EQ(j["content"][1]["type"], "tool_use");
  EXPECT_EQ(j["content"][1]["input"]["a"], 1);
  EXPECT_EQ(j["stop_reason"], "tool_use");
  EXPECT_EQ(j["usage"]["input_tokens"], 12);
  EXPECT_EQ(j["usage"]["output_tokens"], 5);
  auto u = usage_from_body(r.value());
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.input_tokens, 12);
}

TEST(translate_response, anthropic_to_openai) {
  auto r = translate_response(R"({"id":"msg_1","type":"message",
    "role":"assistant","model":"claude-x","content":[
    {"type":"text","text":"Hi"},{"type":"tool_use","id":"toolu_1",
    "name":"f","input":{"b":[1]}}],"stop_reason":"max_tokens",
    "stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":3,
    "cache_read_input_tokens":2}})",
                              api_format::anthropic, api_format::openai, 1700);
  ASSERT_TRUE(r.ok());
  auto j = json::parse(r.value());
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["created"], 1700);
  auto& c = j["choices"][0];
  EXPECT_EQ(c["message"]["content"], "Hi");
  EXPECT_EQ(c["message"]["tool_calls"][0]["function"]["arguments"],
            R"({"b":[1]})");
  EXPECT_EQ(c["finish_reason"], "length");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 12);
  EXPECT_EQ(j["usage"]["completion_tokens"], 3);
  EXPECT_EQ(j["usage"]["total_tokens"], 15);
}

TEST(translate_response, stop_reasons_both_ways) {
  auto oa = api_format::openai;
  auto an = api_format::anthropic;
  EXPECT_EQ(translate_stop_reason("stop", oa, an), "end_turn");
  EXPECT_EQ(translate_stop_reason("length", oa, an), "max_tokens");
  EXPECT_EQ(translate_stop_reason("tool_calls", oa, an), "tool_use");
  EXPECT_EQ(translate_stop_reason("end_turn", an, oa), "stop");
  EXPECT_EQ(translate_stop_reason("stop_sequence", an, oa), "stop");
  EXPECT_EQ(translate_stop_reason("max_tokens", an, oa), "length");
  EXPECT_EQ(translate_stop_reason("tool_use", an, oa), "tool_calls");
}

TEST(translate_response, bad_answers_and_errors) {
  for (auto body : {"", "[]", "{\"choices\":[]}", "{\"content\":5}",
                    "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":"
                    "{\"arguments\":\"[\"}}]}}]}"}) {
    auto a
      = translate_response(body, api_format::openai, api_format::anthropic, 0);
    auto b
      = translate_response(body, api_format::anthropic, api_format::openai, 0);
    EXPECT_FALSE(a.ok() && b.ok()) << body;
    if (!a.ok()) {
      EXPECT_EQ(a.error().code, errc::upstream_error);
    }
  }
  auto e = json::parse(translate_error_body(
    R"({"type":"error","error":{"type":"rate_limit_error","message":"slow"}})",
    api_format::anthropic, api_format::openai, 429));
  EXPECT_EQ(e["error"]["message"], "slow");
  EXPECT_EQ(e["error"]["type"], "rate_limit_error");
  e = json::parse(translate_error_body(
    R"({"error":{"message":"bad","type":"invalid_request_error"}})",
    api_format::openai, api_format::anthropic, 400));
  EXPECT_EQ(e["type"], "error");
  EXPECT_EQ(e["error"]["message"], "bad");
  e = json::parse(translate_error_body("<html>", api_format::openai,
                                       api_format::anthropic, 503));
  EXPECT_EQ(e["error"]["type"], "api_error");
}

TEST(translate_stream, openai_to_anthropic_text_tools_usage) {
  stream_translator t(api_format::openai, api_format::anthropic, 0);
  auto out = run(
    t, {
         event("", R"({"id":"c1","model":"gpt","choices":[{"index":0,
      "delta":{"role":"assistant","content":""},"finish_reason":null}]})"),
         event("", R"({"id":"c1","model":"gpt","choices":[{"index":0,
      "delta":{"content":"Hel"}}]})"),
         event("", R"({"id":"c1","model":"gpt","choices":[{"index":0,
      "delta":{"content":"lo"}}]})"),
         event("", R"({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[
      {"index":0,"id":"call_1","type":"function","function":{"name":"f",
      "arguments":""}}]}}]})"),
         event("", R"({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[
      {"index":0,"function":{"arguments":"{\"a\":"}}]}}]})"),
         event("", R"({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[
      {"index":0,"function":{"arguments":"1}"}}]}}]})"),
         event("", R"({"id":"c1","choices":[{"index":0,"delta":{},
      "finish_reason":"tool_calls"}]})"),
         event("", R"({"id":"c1","choices":[],"usage":{"prompt_tokens":7,
      "completion_tokens":4}})"),
         event("", "[DONE]"),
       });
  std::vector<std::string> names;
  for (auto& ev : out)
    names.push_back(ev.event);
  std::vector<std::string> want
    = {"message_start",       "content_block_start", "content_block_delta",
       "content_block_delta", "content_block_stop",  "content_block_start",
       "content_block_delta", "content_block_delta", "content_block_stop",
       "message_delta",       "message_stop"};
  EXPECT_EQ(names, want);
  auto start = json::parse(out[5].data);
  EXPECT_EQ(start["index"], 1);
  EXPECT_EQ(start["content_block"]["id"], "call_1");
  EXPECT_EQ(json::parse(out[6].data)["delta"]["partial_json"], "{\"a\":");
  auto delta = json::parse(out[9].data);
  EXPECT_EQ(delta["delta"]["stop_reason"], "tool_use");
  EXPECT_EQ(delta["usage"]["output_tokens"], 4);
  EXPECT_EQ(delta["usage"]["input_tokens"], 7);
  EXPECT_EQ(out[0].raw.rfind("event: message_start\ndata: {", 0), 0u);
  EXPECT_EQ(out.back().raw.substr(out.back().raw.size() - 2), "\n\n");
  // The usage accounting reads the translated events too.
  stream_usage su;
  for (auto& ev : out)
    su.on_event(ev);
  EXPECT_EQ(su.result().input_tokens, 7);
  EXPECT_EQ(su.result().output_tokens, 4);
}

TEST(translate_stream, anthropic_to_openai_text_tools_usage) {
  stream_translator t(api_format::anthropic, api_format::openai, 99);
  auto out = run(
    t,
    {
      event("message_start", R"({"type":"message_start","message":{"id":"msg_1",
      "model":"claude","usage":{"input_tokens":11,"output_tokens":1}}})"),
      event("content_block_start", R"({"type":"content_block_start","index":0,
      "content_block":{"type":"text","text":""}})"),
      event("ping", R"({"type":"ping"})"),
      event("content_block_delta", R"({"type":"content_block_delta","index":0,
      "delta":{"type":"text_delta","text":"Hi"}})"),
      event("content_block_stop", R"({"type":"content_block_stop","index":0})"),
      event("content_block_start", R"({"type":"content_block_start","index":1,
      "content_block":{"type":"tool_use","id":"toolu_1","name":"f",
      "input":{}}})"),
      event("content_block_delta", R"({"type":"content_block_delta","index":1,
      "delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}})"),
      event("content_block_stop", R"({"type":"content_block_stop","index":1})"),
      event("message_delta", R"({"type":"message_delta","delta":{
      "stop_reason":"tool_use","stop_sequence":null},
      "usage":{"output_tokens":6}})"),
      event("message_stop", R"({"type":"message_stop"})"),
    });
  ASSERT_EQ(out.size(), 7u);
  auto first = json::parse(out[0].data);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["id"], "msg_1");
  EXPECT_EQ(first["created"], 99);
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(json::parse(out[1].data)["choices"][0]["delta"]["content"], "Hi");
  auto call = json::parse(out[2].data)["choices"][0]["delta"]["tool_calls"][0];
  EXPECT_EQ(call["id"], "toolu_1");
  EXPECT_EQ(call["function"]["name"], "f");
  EXPECT_EQ(json::parse(out[3].data)["choices"][0]["delta"]["tool_calls"][0]
                                    ["function"]["arguments"],
            "{\"a\":1}");
  EXPECT_EQ(json::parse(out[4].data)["choices"][0]["finish_reason"],
            "tool_calls");
  EXPECT_TRUE(is_usage_only_chunk(out[5]));
  auto usage = json::parse(out[5].data)["usage"];
  EXPECT_EQ(usage["prompt_tokens"], 11);
  EXPECT_EQ(usage["completion_tokens"], 6);
  EXPECT_EQ(out[6].data, "[DONE]");
  EXPECT_EQ(out[6].raw, "data: [DONE]\n\n");
  EXPECT_TRUE(out[0].event.empty());
}

TEST(translate_stream, errors_garbage_and_unfinished_streams) {
  stream_translator a(api_format::anthropic, api_format::openai, 0);
  auto out = run(a, {event("", "not json"), event("", "{\"type\":5}"),
                     event("error", R"({"type":"error","error":{
                       "type":"overloaded_error","message":"busy"}})"),
                     event("message_stop", R"({"type":"message_stop"})")});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(json::parse(out[0].data)["error"]["message"], "busy");
  // A stream cut before any stop reason is not completed by the translator.
  stream_translator b(api_format::openai, api_format::anthropic, 0);
  out = run(b,
            {event("", R"({"id":"x","choices":[{"delta":{"content":"a"}}]})")});
  ASSERT_FALSE(out.empty());
  EXPECT_NE(out.back().event, "message_stop");
  // One with a stop reason but without [DONE] is closed at the end.
  stream_translator c(api_format::openai, api_format::anthropic, 0);
  out = run(c, {event("", R"({"id":"x","choices":[{"delta":{"content":"a"},
    "finish_reason":"length"}]})")});
  ASSERT_GE(out.size(), 2u);
  EXPECT_EQ(out.back().event, "message_stop");
  EXPECT_EQ(json::parse(out[out.size() - 2].data)["delta"]["stop_reason"],
            "max_tokens");
  // An OpenAI error chunk becomes an Anthropic error event.
  stream_translator d(api_format::openai, api_format::anthropic, 0);
  out = run(d, {event("", R"({"error":{"message":"boom"}})")});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event, "error");
  std::string deep(300, '[');
  stream_translator e(api_format::openai, api_format::anthropic, 0);
  out = run(e, {event("", deep), event("", "\xff\xfe")});
  EXPECT_TRUE(out.empty());
}
