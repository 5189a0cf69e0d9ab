#include "policy/translate_request.hpp"

#include <exception>
#include <utility>

#include "policy/translate_json.hpp"

namespace gatehouse::policy {

namespace {

using translate_detail::bad_field;
using translate_detail::dump;
using translate_detail::member;
using translate_detail::ojson;

/// Thrown inside this file only; caught by translate_request.
struct refusal {
  problem p;
};

[[noreturn]] void refuse(const std::string& field, const std::string& why) {
  throw refusal{bad_field(field, why)};
}

/// Copies `temperature` and `top_p`, each a number when present: both APIs
/// name and mean them alike.
void copy_sampling(const ojson& in, ojson& out) {
  for (auto* key : {"temperature", "top_p"})
    if (auto* v = member(in, key)) {
      if (!v->is_number())
        refuse(key, "must be a number");
      out[key] = *v;
    }
}

/// Copies `stream`, a boolean when present; answers it (null: absent).
const ojson* copy_stream(const ojson& in, ojson& out) {
  auto* s = member(in, "stream");
  if (s) {
    if (!s->is_boolean())
      refuse("stream", "must be a boolean");
    out["stream"] = *s;
  }
  return s;
}

std::string need_string(const ojson& j, const char* key,
                        const std::string& field) {
  auto* m = member(j, key);
  if (!m || !m->is_string())
    refuse(field + "." + key, "must be a string");
  return m->get<std::string>();
}

ojson text_block(std::string text) {
  return ojson{{"type", "text"}, {"text", std::move(text)}};
}

// -- OpenAI -> Anthropic ---------------------------------------------------

/// An Anthropic image block from an OpenAI `image_url` part: a data URL
/// becomes a base64 source, an http(s) URL a URL source.
ojson anthropic_image(const ojson& part, const std::string& field) {
  auto* iu = member(part, "image_url");
  std::string url;
  if (iu && iu->is_string())
    url = iu->get<std::string>();
  else if (iu && iu->is_object())
    url = need_string(*iu, "url", field + ".image_url");
  else
    refuse(field + ".image_url", "must be an object with a url");
  if (url.rfind("data:", 0) == 0) {
    auto comma = url.find(',');
    auto meta = url.substr(5, comma == std::string::npos ? 0 : comma - 5);
    auto semi = meta.find(';');
    if (comma == std::string::npos || semi == std::string::npos
        || meta.substr(semi + 1) != "base64")
      refuse(field + ".image_url.url", "a data URL must be base64-encoded");
    return ojson{{"type", "image"},
                 {"source",
                  {{"type", "base64"},
                   {"media_type", meta.substr(0, semi)},
                   {"data", url.substr(comma + 1)}}}};
  }
  if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0)
    return ojson{{"type", "image"},
                 {"source", {{"type", "url"}, {"url", url}}}};
  refuse(field + ".image_url.url", "must be a data: or http(s) URL");
}

/// Anthropic content blocks from OpenAI message content (a string or an
/// array of parts). Empty texts are left out: Anthropic refuses them.
ojson anthropic_blocks(const ojson& content, const std::string& field,
                       bool images) {
  ojson out = ojson::array();
  if (content.is_null())
    return out;
  if (content.is_string()) {
    if (!content.get_ref<const std::string&>().empty())
      out.push_back(text_block(content.get<std::string>()));
    return out;
  }
  if (!content.is_array())
    refuse(field, "must be a string or an array of parts");
  for (std::size_t i = 0; i < content.size(); ++i) {
    auto& part = content[i];
    auto pf = field + "[" + std::to_string(i) + "]";
    auto type = need_string(part, "type", pf);
    if (type == "text" || type == "refusal") {
      auto text = need_string(part, type == "text" ? "text" : "refusal", pf);
      if (!text.empty())
        out.push_back(text_block(std::move(text)));
    } else if (type == "image_url" && images) {
      out.push_back(anthropic_image(part, pf));
    } else {
      refuse(pf + ".type", "a part of type '" + type
                             + "' cannot be translated to the Anthropic "
                               "format");
    }
  }
  return out;
}

/// An Anthropic tool_use block from an OpenAI tool call.
ojson anthropic_tool_use(const ojson& call, const std::string& field) {
  auto type = member(call, "type");
  if (type && (!type->is_string() || type->get<std::string>() != "function"))
    refuse(field + ".type", "only function tool calls can be translated");
  auto* fn = member(call, "function");
  if (!fn || !fn->is_object())
    refuse(field + ".function", "must be an object");
  auto args = need_string(*fn, "arguments", field + ".function");
  ojson input;
  if (args.empty())
    input = ojson::object();
  else if (parse_json(args, default_json_depth, input) != json_fault::none
           || !input.is_object())
    refuse(field + ".function.arguments", "must be a JSON object in a string");
  return ojson{{"type", "tool_use"},
               {"id", need_string(call, "id", field)},
               {"name", need_string(*fn, "name", field + ".function")},
               {"input", std::move(input)}};
}

/// The text of a tool message's content: a string, or its text parts.
ojson tool_result_content(const ojson& content, const std::string& field) {
  if (content.is_string())
    return content;
  auto blocks = anthropic_blocks(content, field, false);
  return blocks;
}

ojson anthropic_tool_choice(const ojson& tc, const std::string& field) {
  if (tc.is_string()) {
    auto s = tc.get<std::string>();
    if (s == "auto")
      return {{"type", "auto"}};
    if (s == "required")
      return {{"type", "any"}};
    if (s == "none")
      return {{"type", "none"}};
    refuse(field, "must be 'auto', 'required', 'none' or a function");
  }
  if (tc.is_object()) {
    if (auto* fn = member(tc, "function"); fn && fn->is_object())
      return {{"type", "tool"}, {"name", need_string(*fn, "name", field)}};
  }
  refuse(field, "must be 'auto', 'required', 'none' or a function");
}

ojson openai_to_anthropic(const ojson& in) {
  ojson out = ojson::object();
  if (auto* m = member(in, "model"))
    out["model"] = *m;
  // Members without a counterpart that would change what is asked.
  if (auto* n = member(in, "n"); n && !(n->is_number() && *n == 1))
    refuse("n", "only one choice can be translated to the Anthropic format");
  if (auto* lp = member(in, "logprobs"); lp && *lp != false)
    refuse("logprobs", "log probabilities cannot be translated");
  if (member(in, "audio"))
    refuse("audio", "audio output cannot be translated");
  if (member(in, "functions") || member(in, "function_call"))
    refuse(member(in, "functions") ? "functions" : "function_call",
           "legacy functions cannot be translated; use tools");
  if (auto* rf = member(in, "response_format")) {
    if (!rf->is_object() || translate_detail::str_of(*rf, "type") != "text")
      refuse("response_format",
             "only type 'text' can be translated to the Anthropic format");
  }
  auto* msgs = member(in, "messages");
  if (!msgs || !msgs->is_array())
    refuse("messages", "must be an array");
  ojson system = ojson::array();
  ojson messages = ojson::array();
  auto push = [&](const char* role, ojson blocks) {
    if (blocks.empty())
      return;
    // Anthropic wants roles to alternate: one turn's parts go together.
    if (!messages.empty() && messages.back()["role"] == role) {
      for (auto& b : blocks)
        messages.back()["content"].push_back(std::move(b));
      return;
    }
    messages.push_back({{"role", role}, {"content", std::move(blocks)}});
  };
  for (std::size_t i = 0; i < msgs->size(); ++i) {
    auto& m = (*msgs)[i];
    auto f = "messages[" + std::to_string(i) + "]";
    if (!m.is_object())
      refuse(f, "must be an object");
    auto role = need_string(m, "role", f);
    auto* content = member(m, "content");
    const ojson none;
    const ojson& c = content ? *content : none;
    if (role == "system" || role == "developer") {
      for (auto& b : anthropic_blocks(c, f + ".content", false))
        system.push_back(std::move(b));
    } else if (role == "user") {
      push("user", anthropic_blocks(c, f + ".content", true));
    } else if (role == "assistant") {
      auto blocks = anthropic_blocks(c, f + ".content", false);
      if (member(m, "function_call"))
        refuse(f + ".function_call",
               "legacy function calls cannot be translated; use tool_calls");
      if (auto* calls = member(m, "tool_calls")) {
        if (!calls->is_array())
          refuse(f + ".tool_calls", "must be an array");
        for (std::size_t k = 0; k < calls->size(); ++k)
          blocks.push_back(anthropic_tool_use(
            (*calls)[k], f + ".tool_calls[" + std::to_string(k) + "]"));
      }
      push("assistant", std::move(blocks));
    } else if (role == "tool") {
      ojson block{{"type", "tool_result"},
                  {"tool_use_id", need_string(m, "tool_call_id", f)}};
      auto rc = tool_result_content(c, f + ".content");
      if (!(rc.is_array() && rc.empty()))
        block["content"] = std::move(rc);
      push("user", ojson::array({std::move(block)}));
    } else {
      refuse(f + ".role", "role '" + role
                            + "' cannot be translated to the Anthropic "
                              "format");
    }
  }
  if (system.size() == 1)
    out["system"] = system[0]["text"];
  else if (!system.empty())
    out["system"] = std::move(system);
  out["messages"] = std::move(messages);
  const ojson* max = member(in, "max_completion_tokens");
  if (!max)
    max = member(in, "max_tokens");
  if (max) {
    if (!max->is_number_integer() || max->get<long long>() < 1)
      refuse(member(in, "max_completion_tokens") ? "max_completion_tokens"
                                                 : "max_tokens",
             "must be a positive integer");
    out["max_tokens"] = *max;
  } else {
    out["max_tokens"] = default_anthropic_max_tokens;
  }
  if (auto* stop = member(in, "stop")) {
    if (stop->is_string())
      out["stop_sequences"] = ojson::array({*stop});
    else if (stop->is_array()) {
      for (auto& s : *stop)
        if (!s.is_string())
          refuse("stop", "must be a string or an array of strings");
      if (!stop->empty())
        out["stop_sequences"] = *stop;
    } else
      refuse("stop", "must be a string or an array of strings");
  }
  copy_sampling(in, out);
  copy_stream(in, out);
  if (auto* tools = member(in, "tools")) {
    if (!tools->is_array())
      refuse("tools", "must be an array");
    ojson list = ojson::array();
    for (std::size_t i = 0; i < tools->size(); ++i) {
      auto& t = (*tools)[i];
      auto f = "tools[" + std::to_string(i) + "]";
      if (translate_detail::str_of(t, "type") != "function")
        refuse(f + ".type", "only function tools can be translated");
      auto* fn = member(t, "function");
      if (!fn || !fn->is_object())
        refuse(f + ".function", "must be an object");
      ojson tool{{"name", need_string(*fn, "name", f + ".function")}};
      if (auto* d = member(*fn, "description"); d && d->is_string())
        tool["description"] = *d;
      auto* params = member(*fn, "parameters");
      if (params && !params->is_object())
        refuse(f + ".function.parameters", "must be an object");
      tool["input_schema"]
        = params ? *params
                 : ojson{{"type", "object"}, {"properties", ojson::object()}};
      list.push_back(std::move(tool));
    }
    if (!list.empty())
      out["tools"] = std::move(list);
  }
  ojson choice;
  if (auto* tc = member(in, "tool_choice"))
    choice = anthropic_tool_choice(*tc, "tool_choice");
  if (auto* p = member(in, "parallel_tool_calls");
      p && *p == false && out.contains("tools")) {
    if (choice.is_null())
      choice = {{"type", "auto"}};
    if (choice["type"] != "none")
      choice["disable_parallel_tool_use"] = true;
  }
  if (!choice.is_null())
    out["tool_choice"] = std::move(choice);
  if (auto* u = member(in, "user"); u && u->is_string())
    out["metadata"] = {{"user_id", *u}};
  return out;
}

// -- Anthropic -> OpenAI ---------------------------------------------------

/// The text of Anthropic content (a string or text blocks), for places
/// that take only text: the system prompt and tool results.
std::string anthropic_text(const ojson& content, const std::string& field) {
  if (content.is_null())
    return {};
  if (content.is_string())
    return content.get<std::string>();
  if (!content.is_array())
    refuse(field, "must be a string or an array of blocks");
  std::string out;
  for (std::size_t i = 0; i < content.size(); ++i) {
    auto f = field + "[" + std::to_string(i) + "]";
    auto type = need_string(content[i], "type", f);
    if (type != "text")
      refuse(f + ".type",
             "a block of type '" + type + "' cannot be translated here");
    if (!out.empty())
      out += "\n";
    out += need_string(content[i], "text", f);
  }
  return out;
}

ojson openai_image(const ojson& block, const std::string& field) {
  auto* src = member(block, "source");
  if (!src || !src->is_object())
    refuse(field + ".source", "must be an object");
  auto type = need_string(*src, "type", field + ".source");
  if (type == "base64")
    return {
      {"type", "image_url"},
      {"image_url",
       {{"url", "data:" + need_string(*src, "media_type", field + ".source")
                  + ";base64,"
                  + need_string(*src, "data", field + ".source")}}}};
  if (type == "url")
    return {
      {"type", "image_url"},
      {"image_url", {{"url", need_string(*src, "url", field + ".source")}}}};
  refuse(field + ".source.type",
         "an image source of type '" + type + "' cannot be translated");
}

/// Appends the OpenAI messages of one Anthropic user message: its tool
/// results as `tool` messages first, then the rest as one user message.
void openai_user(const ojson& content, const std::string& f, ojson& out) {
  if (content.is_string()) {
    out.push_back({{"role", "user"}, {"content", content}});
    return;
  }
  if (!content.is_array())
    refuse(f, "must be a string or an array of blocks");
  ojson parts = ojson::array();
  for (std::size_t i = 0; i < content.size(); ++i) {
    auto& b = content[i];
    auto bf = f + "[" + std::to_string(i) + "]";
    auto type = need_string(b, "type", bf);
    if (type == "text") {
      parts.push_back(text_block(need_string(b, "text", bf)));
    } else if (type == "image") {
      parts.push_back(openai_image(b, bf));
    } else if (type == "tool_result") {
      const ojson none;
      auto* c = member(b, "content");
      out.push_back(
        {{"role", "tool"},
         {"tool_call_id", need_string(b, "tool_use_id", bf)},
         {"content", anthropic_text(c ? *c : none, bf + ".content")}});
    } else {
      refuse(bf + ".type", "a block of type '" + type
                             + "' cannot be translated to the OpenAI "
                               "format");
    }
  }
  if (!parts.empty())
    out.push_back({{"role", "user"}, {"content", std::move(parts)}});
}

ojson openai_assistant(const ojson& content, const std::string& f) {
  ojson msg{{"role", "assistant"}};
  if (content.is_string()) {
    msg["content"] = content;
    return msg;
  }
  if (!content.is_array())
    refuse(f, "must be a string or an array of blocks");
  std::string text;
  ojson calls = ojson::array();
  for (std::size_t i = 0; i < content.size(); ++i) {
    auto& b = content[i];
    auto bf = f + "[" + std::to_string(i) + "]";
    auto type = need_string(b, "type", bf);
    if (type == "text") {
      text += need_string(b, "text", bf);
    } else if (type == "tool_use") {
      auto* input = member(b, "input");
      calls.push_back(
        {{"id", need_string(b, "id", bf)},
         {"type", "function"},
         {"function",
          {{"name", need_string(b, "name", bf)},
           {"arguments", input ? dump(*input) : std::string{"{}"}}}}});
    } else if (type == "thinking" || type == "redacted_thinking") {
      // Reasoning of an earlier turn: the other format has no place for it.
    } else {
      refuse(bf + ".type", "a block of type '" + type
                             + "' cannot be translated to the OpenAI "
                               "format");
    }
  }
  msg["content"] = text.empty() && !calls.empty() ? ojson{} : ojson(text);
  if (!calls.empty())
    msg["tool_calls"] = std::move(calls);
  return msg;
}

ojson openai_tool_choice(const ojson& tc, bool& parallel_off) {
  auto type = translate_detail::str_of(tc, "type");
  if (auto* d = member(tc, "disable_parallel_tool_use"); d && *d == true)
    parallel_off = true;
  if (type == "auto")
    return "auto";
  if (type == "any")
    return "required";
  if (type == "none")
    return "none";
  if (type == "tool")
    return {{"type", "function"},
            {"function", {{"name", need_string(tc, "name", "tool_choice")}}}};
  refuse("tool_choice.type", "must be 'auto', 'any', 'tool' or 'none'");
}

ojson anthropic_to_openai(const ojson& in) {
  ojson out = ojson::object();
  if (auto* m = member(in, "model"))
    out["model"] = *m;
  if (auto* t = member(in, "thinking");
      t && translate_detail::str_of(*t, "type") != "disabled")
    refuse("thinking", "extended thinking cannot be translated to the "
                       "OpenAI format");
  if (member(in, "mcp_servers"))
    refuse("mcp_servers", "MCP servers cannot be translated");
  ojson messages = ojson::array();
  if (auto* sys = member(in, "system")) {
    auto text = anthropic_text(*sys, "system");
    if (!text.empty())
      messages.push_back({{"role", "system"}, {"content", std::move(text)}});
  }
  auto* msgs = member(in, "messages");
  if (!msgs || !msgs->is_array())
    refuse("messages", "must be an array");
  for (std::size_t i = 0; i < msgs->size(); ++i) {
    auto& m = (*msgs)[i];
    auto f = "messages[" + std::to_string(i) + "]";
    if (!m.is_object())
      refuse(f, "must be an object");
    auto role = need_string(m, "role", f);
    auto* content = member(m, "content");
    if (!content)
      refuse(f + ".content", "is required");
    if (role == "user")
      openai_user(*content, f + ".content", messages);
    else if (role == "assistant")
      messages.push_back(openai_assistant(*content, f + ".content"));
    else
      refuse(f + ".role", "must be 'user' or 'assistant'");
  }
  out["messages"] = std::move(messages);
  if (auto* max = member(in, "max_tokens")) {
    if (!max->is_number_integer() || max->get<long long>() < 1)
      refuse("max_tokens", "must be a positive integer");
    out["max_tokens"] = *max;
  }
  if (auto* stop = member(in, "stop_sequences")) {
    if (!stop->is_array())
      refuse("stop_sequences", "must be an array of strings");
    for (auto& s : *stop)
      if (!s.is_string())
        refuse("stop_sequences", "must be an array of strings");
    if (!stop->empty())
      out["stop"] = *stop;
  }
  copy_sampling(in, out);
  if (auto* s = copy_stream(in, out)) {
    if (*s == true)
      out["stream_options"] = {{"include_usage", true}};
  }
  if (auto* tools = member(in, "tools")) {
    if (!tools->is_array())
      refuse("tools", "must be an array");
    ojson list = ojson::array();
    for (std::size_t i = 0; i < tools->size(); ++i) {
      auto& t = (*tools)[i];
      auto f = "tools[" + std::to_string(i) + "]";
      if (!t.is_object())
        refuse(f, "must be an object");
      if (auto* type = member(t, "type");
          type && !(type->is_string() && *type == "custom"))
        refuse(f + ".type", "a server tool cannot be translated to the "
                            "OpenAI format");
      ojson fn{{"name", need_string(t, "name", f)}};
      if (auto* d = member(t, "description"); d && d->is_string())
        fn["description"] = *d;
      auto* schema = member(t, "input_schema");
      if (!schema || !schema->is_object())
        refuse(f + ".input_schema", "must be an object");
      fn["parameters"] = *schema;
      list.push_back({{"type", "function"}, {"function", std::move(fn)}});
    }
    if (!list.empty())
      out["tools"] = std::move(list);
  }
  if (auto* tc = member(in, "tool_choice")) {
    if (!tc->is_object())
      refuse("tool_choice", "must be an object");
    bool parallel_off = false;
    auto choice = openai_tool_choice(*tc, parallel_off);
    if (out.contains("tools")) {
      out["tool_choice"] = std::move(choice);
      if (parallel_off)
        out["parallel_tool_calls"] = false;
    }
  }
  if (auto* md = member(in, "metadata"))
    if (auto u = translate_detail::str_of(*md, "user_id"); !u.empty())
      out["user"] = u;
  return out;
}

} // namespace

outcome<std::string> translate_request(std::string_view body, api_format from,
                                       api_format to,
                                       const std::optional<std::string>& model,
                                       int max_depth) {
  try {
    ojson in;
    if (auto fault = parse_json(body, max_depth, in); fault != json_fault::none)
      return make_problem(errc::invalid_request,
                          std::string{"request body "} + describe(fault));
    if (!in.is_object())
      return make_problem(errc::invalid_request,
                          "request body must be a JSON object");
    if (from == to) {
      if (model)
        in["model"] = *model;
      return dump(in);
    }
    auto out = to == api_format::anthropic ? openai_to_anthropic(in)
                                           : anthropic_to_openai(in);
    if (model)
      out["model"] = *model;
    return dump(out);
  } catch (const refusal& r) {
    return r.p;
  } catch (const std::exception& e) {
    return make_problem(errc::invalid_request,
                        std::string{"request cannot be translated: "}
                          + e.what());
  }
}

} // namespace gatehouse::policy
