#include "policy/usage.hpp"

#include "policy/json_parse.hpp"
#include "policy/json_read.hpp"

#include <optional>

namespace gatehouse::policy {

namespace {

// The member `key` of `v` if it is an object.
template <class V>
std::optional<V> member_object(const V& v, const char* key) {
  auto m = v.member(key);
  if (m && m->is_object())
    return m;
  return std::nullopt;
}

// Applies the counts found under `in_key` / `out_key` of `usage` to `out`.
// Returns true if at least one was found.
template <class V>
bool apply_counts(const V& usage, const char* in_key, const char* out_key,
                  token_usage& out) {
  auto in = json_read::member_count(usage, in_key, true);
  auto outc = json_read::member_count(usage, out_key, true);
  if (in)
    out.input_tokens = *in;
  if (outc)
    out.output_tokens = *outc;
  if (in || outc)
    out.present = true;
  return in || outc;
}

// Reads either naming of the counts, OpenAI's first.
template <class V>
bool apply_any_counts(const V& usage, token_usage& out) {
  return apply_counts(usage, "prompt_tokens", "completion_tokens", out)
         || apply_counts(usage, "input_tokens", "output_tokens", out);
}

template <class V>
std::string_view type_of(const V& j, const sse_event& ev) {
  auto it = j.member("type");
  if (it && it->is_string())
    return it->str();
  return ev.event;
}

template <class V>
void add_string(const V& obj, const char* key, std::size_t& chars) {
  auto it = obj.member(key);
  if (it && it->is_string())
    chars += count_chars(it->str());
}

/// Calls `read(object)` when `text` is a JSON object.
template <class Read>
void read_object(std::string_view text, Read&& read) {
  json_read::read_json(text, default_json_depth, [&](const auto& j) {
    if (j.is_object())
      read(j);
  });
}

template <class V>
void usage_of_event(const V& j, const sse_event& ev, token_usage& usage) {
  auto type = type_of(j, ev);
  if (type == "message_start") {
    if (auto msg = member_object(j, "message"))
      if (auto u = member_object(*msg, "usage"))
        apply_counts(*u, "input_tokens", "output_tokens", usage);
    return;
  }
  if (type.substr(0, 9) == "response.") {
    if (auto resp = member_object(j, "response"))
      if (auto u = member_object(*resp, "usage"))
        apply_any_counts(*u, usage);
    return;
  }
  // OpenAI chunks and Anthropic message_delta carry a top-level usage.
  if (auto u = member_object(j, "usage"))
    apply_any_counts(*u, usage);
}

template <class V>
void count_event_text(const V& j, const sse_event& ev, std::size_t& chars) {
  auto type = type_of(j, ev);
  if (type == "content_block_delta") {
    if (auto delta = member_object(j, "delta")) {
      add_string(*delta, "text", chars);
      add_string(*delta, "partial_json", chars);
      add_string(*delta, "thinking", chars);
    }
    return;
  }
  if (type == "response.output_text.delta"
      || type == "response.function_call_arguments.delta") {
    add_string(j, "delta", chars);
    return;
  }
  auto choices = j.member("choices");
  if (!choices)
    return;
  choices->each([&](const V& choice) {
    if (!choice.is_object())
      return;
    // Legacy completions stream text directly in the choice.
    add_string(choice, "text", chars);
    auto delta = member_object(choice, "delta");
    if (!delta)
      return;
    add_string(*delta, "content", chars);
    add_string(*delta, "refusal", chars);
    if (auto calls = delta->member("tool_calls"))
      calls->each([&](const V& call) {
        if (auto fn = member_object(call, "function"))
          add_string(*fn, "arguments", chars);
      });
  });
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
  read_object(json_body, [&](const auto& j) {
    if (auto usage = member_object(j, "usage"))
      apply_any_counts(*usage, result);
  });
  return result;
}

void stream_usage::on_event(const sse_event& ev) {
  // Every chunk that reports usage names it; most chunks can be skipped
  // without parsing.
  if (!ev.has_data || ev.data.find("usage") == std::string::npos)
    return;
  read_object(ev.data,
              [&](const auto& j) { usage_of_event(j, ev, usage_); });
}

bool is_usage_only_chunk(const sse_event& ev) {
  if (!ev.has_data || ev.data.find("usage") == std::string::npos)
    return false;
  bool only = false;
  read_object(ev.data, [&](const auto& j) {
    if (!member_object(j, "usage"))
      return;
    auto choices = j.member("choices");
    if (!choices || !choices->is_array())
      return;
    bool empty = true;
    choices->each([&](const auto&) { empty = false; });
    only = empty;
  });
  return only;
}

long long estimate_tokens(std::size_t chars) {
  return static_cast<long long>(chars / 4 + (chars % 4 != 0 ? 1 : 0));
}

void stream_text_counter::on_event(const sse_event& ev) {
  if (!ev.has_data)
    return;
  read_object(ev.data,
              [&](const auto& j) { count_event_text(j, ev, chars_); });
}

} // namespace gatehouse::policy
