#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "policy/json_parse.hpp"

namespace gatehouse::policy {

/// What the gateway needs to know about a proxied request body.
struct proxy_body_info {
  /// Why the body is not acceptable JSON; `none` when it parsed.
  json_fault fault = json_fault::none;
  /// True if the body is a JSON object; every other field keeps its default
  /// otherwise.
  bool is_json_object = false;
  /// The `model` string; "" when absent or not a string.
  std::string model;
  /// True if `stream` is the JSON value `true`.
  bool stream = false;
  /// True if `stream_options.include_usage` is the JSON value `true`.
  bool client_wants_usage = false;
  /// `max_completion_tokens`, else `max_tokens`, else `max_output_tokens`
  /// (OpenAI Responses), when a non-negative integer.
  std::optional<long long> max_tokens;
  /// Characters (Unicode code points) of prompt text, for estimating input
  /// tokens: `messages[].content` (a string, or an array of strings and of
  /// parts with `text`, nested `content` included), `system` (string or
  /// array of parts), `prompt` (string or array of strings) and `input`
  /// (string, array of strings, or array of items with `content` or
  /// `text`).
  std::size_t prompt_chars = 0;
};

/// Reads a proxied request body with `parse_json` (whole text, UTF-8, no
/// NUL, at most `max_depth` deep). Never throws; a body that is not a JSON
/// object gives the defaults, with `fault` telling why when it is not JSON
/// at all.
proxy_body_info inspect_body(std::string_view body,
                             int max_depth = default_json_depth);

/// Rewrites a proxied JSON body: sets `model` to `new_model` when given
/// and, when `inject_include_usage`, sets `stream_options.include_usage` to
/// `true` (creating `stream_options` if absent or not an object, keeping
/// its other members). Member order is preserved and a new member goes
/// last; a rewritten body is serialized compactly.
///
/// Returns `body` unchanged, byte for byte, when there is nothing to change
/// (no new model or the same one, and no injection or usage already
/// requested), when it is not a JSON object, or when it is nested deeper
/// than `max_depth`. OpenAI rejects `stream_options` on a
/// request that does not stream: inject only for streaming requests.
/// Never throws.
std::string rewrite_body(std::string_view body,
                         const std::optional<std::string>& new_model,
                         bool inject_include_usage,
                         int max_depth = default_json_depth);

/// Appends `member` (`"name":value`, itself valid JSON) as the last member
/// of `object_json`, which must be a valid JSON object (say, one
/// `inspect_body` accepted), keeping every other byte: the cheap way to add
/// a member the object is known not to have, without parsing it again.
std::string append_member(std::string_view object_json,
                          std::string_view member);

} // namespace gatehouse::policy
