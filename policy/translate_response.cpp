#include "policy/translate_response.hpp"

#include <exception>
#include <utility>

#include "policy/translate_json.hpp"

namespace gatehouse::policy {

namespace {

using translate_detail::count_of;
using translate_detail::dump;
using translate_detail::member;
using translate_detail::ojson;
using translate_detail::str_of;

problem bad_answer(const std::string& why) {
  return make_problem(errc::upstream_error,
                      "the provider's answer cannot be translated: " + why);
}

outcome<ojson> openai_to_anthropic(const ojson& in) {
  auto* choices = member(in, "choices");
  if (!choices || !choices->is_array() || choices->empty())
    return bad_answer("no choices");
  auto& choice = (*choices)[0];
  ojson content = ojson::array();
  std::string reason = "stop";
  if (auto* r = member(choice, "finish_reason"); r && r->is_string())
    reason = r->get<std::string>();
  if (auto* msg = member(choice, "message")) {
    for (auto* key : {"content", "refusal"}) {
      auto text = str_of(*msg, key);
      if (!text.empty())
        content.push_back({{"type", "text"}, {"text", std::move(text)}});
    }
    if (auto* calls = member(*msg, "tool_calls"); calls && calls->is_array())
      for (auto& call : *calls) {
        auto* fn = member(call, "function");
        if (!fn)
          return bad_answer("a tool call without a function");
        auto args = str_of(*fn, "arguments");
        ojson input = ojson::object();
        if (!args.empty()
            && (parse_json(args, default_json_depth, input) != json_fault::none
                || !input.is_object()))
          return bad_answer("tool call arguments are not a JSON object");
        content.push_back({{"type", "tool_use"},
                           {"id", str_of(call, "id")},
                           {"name", str_of(*fn, "name")},
                           {"input", std::move(input)}});
      }
  }
  ojson out{{"id", str_of(in, "id")},
            {"type", "message"},
            {"role", "assistant"},
            {"model", str_of(in, "model")},
            {"content", std::move(content)},
            {"stop_reason",
             std::string{translate_stop_reason(reason, api_format::openai,
                                               api_format::anthropic)}},
            {"stop_sequence", nullptr}};
  const ojson none;
  auto* usage = member(in, "usage");
  const ojson& u = usage ? *usage : none;
  out["usage"] = {{"input_tokens", count_of(u, "prompt_tokens")},
                  {"output_tokens", count_of(u, "completion_tokens")}};
  return out;
}

outcome<ojson> anthropic_to_openai(const ojson& in, long long created_s) {
  auto* content = member(in, "content");
  if (!content || !content->is_array())
    return bad_answer("no content");
  std::string text;
  ojson calls = ojson::array();
  for (auto& b : *content) {
    auto type = str_of(b, "type");
    if (type == "text")
      text += str_of(b, "text");
    else if (type == "tool_use") {
      auto* input = member(b, "input");
      calls.push_back(
        {{"id", str_of(b, "id")},
         {"type", "function"},
         {"function",
          {{"name", str_of(b, "name")},
           {"arguments", input ? dump(*input) : std::string{"{}"}}}}});
    }
  }
  ojson msg{
    {"role", "assistant"},
    {"content", text.empty() && !calls.empty() ? ojson{} : ojson(text)}};
  if (!calls.empty())
    msg["tool_calls"] = std::move(calls);
  msg["refusal"] = nullptr;
  auto reason = str_of(in, "stop_reason");
  ojson out{{"id", str_of(in, "id")},
            {"object", "chat.completion"},
            {"created", created_s},
            {"model", str_of(in, "model")},
            {"choices",
             ojson::array({{{"index", 0},
                            {"message", std::move(msg)},
                            {"logprobs", nullptr},
                            {"finish_reason", std::string{translate_stop_reason(
                                                reason, api_format::anthropic,
                                                api_format::openai)}}}})}};
  const ojson none;
  auto* usage = member(in, "usage");
  const ojson& u = usage ? *usage : none;
  auto prompt = count_of(u, "input_tokens")
                + count_of(u, "cache_creation_input_tokens")
                + count_of(u, "cache_read_input_tokens");
  auto completion = count_of(u, "output_tokens");
  out["usage"] = {{"prompt_tokens", prompt},
                  {"completion_tokens", completion},
                  {"total_tokens", prompt + completion}};
  return out;
}

} // namespace

std::string_view translate_stop_reason(std::string_view reason, api_format from,
                                       api_format to) {
  if (from == to)
    return reason;
  if (to == api_format::anthropic) {
    if (reason == "length")
      return "max_tokens";
    if (reason == "tool_calls" || reason == "function_call")
      return "tool_use";
    if (reason == "content_filter")
      return "refusal";
    return "end_turn";
  }
  if (reason == "max_tokens")
    return "length";
  if (reason == "tool_use")
    return "tool_calls";
  if (reason == "refusal")
    return "content_filter";
  return "stop";
}

outcome<std::string> translate_response(std::string_view body, api_format from,
                                        api_format to, long long created_s,
                                        int max_depth) {
  try {
    ojson in;
    if (parse_json(body, max_depth, in) != json_fault::none || !in.is_object())
      return bad_answer("not a JSON object");
    if (from == to)
      return std::string{body};
    auto out = to == api_format::anthropic ? openai_to_anthropic(in)
                                           : anthropic_to_openai(in, created_s);
    if (!out)
      return out.error();
    return dump(out.value());
  } catch (const std::exception& e) {
    return bad_answer(e.what());
  }
}

std::string translate_error_body(std::string_view body, api_format from,
                                 api_format to, int status, int max_depth) {
  std::string message;
  std::string type;
  try {
    ojson in;
    if (parse_json(body, max_depth, in) == json_fault::none) {
      // Both formats keep the details in `error`.
      if (auto* e = member(in, "error"); e && e->is_object()) {
        message = str_of(*e, "message");
        type = str_of(*e, "type");
      }
    }
  } catch (const std::exception&) {
    message.clear();
  }
  if (message.empty())
    message = "the provider answered with status " + std::to_string(status);
  if (type.empty())
    type = status >= 500 ? "api_error" : "invalid_request_error";
  (void)from;
  ojson out;
  if (to == api_format::anthropic)
    out
      = {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}};
  else
    out = {{"error",
            {{"message", message},
             {"type", type},
             {"param", nullptr},
             {"code", nullptr}}}};
  return dump(out);
}

} // namespace gatehouse::policy
