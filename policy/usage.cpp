#include "policy/usage.hpp"

#include "policy/json_parse.hpp"

#include "policy/json_count.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

namespace gatehouse::policy {

namespace {

using json = nlohmann::json;

// Parses `text`; a discarded value when it is not a JSON object.
json parse_object(std::string_view text) {
  json j;
  if (parse_json(text, default_json_depth, j) == json_fault::none
      && j.is_object())
    return j;
  return json(json::value_t::discarded);
}

// Returns the member `key` of object `j` if it is a non-null object.
const json* member_object(const json& j, const char* key) {
  if (!j.is_object())
    return nullptr;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object())
    return nullptr;
  return &*it;
}

// Applies the counts found under `in_key` / `out_key` of `usage` to `out`.
// Returns true if at least one was found.
bool apply_counts(const json& usage, const char* in_key, const char* out_key,
                  token_usage& out) {
  auto in = json_count(usage, in_key, true);
  auto outc = json_count(usage, out_key, true);
  if (in)
    out.input_tokens = *in;
  if (outc)
    out.output_tokens = *outc;
  if (in || outc)
    out.present = true;
  return in || outc;
}

// Reads either naming of the counts, OpenAI's first.
bool apply_any_counts(const json& usage, token_usage& out) {
  return apply_counts(usage, "prompt_tokens", "completion_tokens", out)
         || apply_counts(usage, "input_tokens", "output_tokens", out);
}

std::string_view type_of(const json& j, const sse_event& ev) {
  auto it = j.find("type");
  if (it != j.end() && it->is_string())
    return it->get_ref<const std::string&>();
  return ev.event;
}

void add_string(const json& obj, const char* key, std::size_t& chars) {
  auto it = obj.find(key);
  if (it != obj.end() && it->is_string())
    chars += count_chars(it->get_ref<const std::string&>());
}

} // namespace

std::size_t count_chars(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80)
      ++n;
  return n;
}

token_usage usage_from_body(std::string_view json_body) {
  token_usage result;
  auto j = parse_object(json_body);
  if (const auto* usage = member_object(j, "usage"))
    apply_any_counts(*usage, result);
  return result;
}

void stream_usage::on_event(const sse_event& ev) {
  // Every chunk that reports usage names it; most chunks can be skipped
  // without parsing.
  if (!ev.has_data || ev.data.find("usage") == std::string::npos)
    return;
  auto j = parse_object(ev.data);
  if (!j.is_object())
    return;
  auto type = type_of(j, ev);
  if (type == "message_start") {
    if (const auto* msg = member_object(j, "message"))
      if (const auto* usage = member_object(*msg, "usage"))
        apply_counts(*usage, "input_tokens", "output_tokens", usage_);
    return;
  }
  if (type.substr(0, 9) == "response.") {
    if (const auto* resp = member_object(j, "response"))
      if (const auto* usage = member_object(*resp, "usage"))
        apply_any_counts(*usage, usage_);
    return;
  }
  // OpenAI chunks and Anthropic message_delta carry a top-level usage.
  if (const auto* usage = member_object(j, "usage"))
    apply_any_counts(*usage, usage_);
}

bool is_usage_only_chunk(const sse_event& ev) {
  if (!ev.has_data || ev.data.find("usage") == std::string::npos)
    return false;
  auto j = parse_object(ev.data);
  if (!member_object(j, "usage"))
    return false;
  auto choices = j.find("choices");
  return choices != j.end() && choices->is_array() && choices->empty();
}

long long estimate_tokens(std::size_t chars) {
  return static_cast<long long>(chars / 4 + (chars % 4 != 0 ? 1 : 0));
}

void stream_text_counter::on_event(const sse_event& ev) {
  if (!ev.has_data)
    return;
  auto j = parse_object(ev.data);
  if (!j.is_object())
    return;
  auto type = type_of(j, ev);
  if (type == "content_block_delta") {
    if (const auto* delta = member_object(j, "delta")) {
      add_string(*delta, "text", chars_);
      add_string(*delta, "partial_json", chars_);
      add_string(*delta, "thinking", chars_);
    }
    return;
  }
  if (type == "response.output_text.delta"
      || type == "response.function_call_arguments.delta") {
    add_string(j, "delta", chars_);
    return;
  }
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array())
    return;
  for (const auto& choice : *choices) {
    if (!choice.is_object())
      continue;
    // Legacy completions stream text directly in the choice.
    add_string(choice, "text", chars_);
    const auto* delta = member_object(choice, "delta");
    if (!delta)
      continue;
    add_string(*delta, "content", chars_);
    add_string(*delta, "refusal", chars_);
    auto calls = delta->find("tool_calls");
    if (calls == delta->end() || !calls->is_array())
      continue;
    for (const auto& call : *calls)
      if (const auto* fn = member_object(call, "function"))
        add_string(*fn, "arguments", chars_);
  }
}

} // namespace gatehouse::policy
