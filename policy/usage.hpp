#pragma once

#include <cstddef>
#include <string_view>

#include "policy/sse.hpp"

namespace gatehouse::policy {

/// Token counts of one upstream answer.
struct token_usage {
  /// Prompt (input) tokens.
  long long input_tokens = 0;
  /// Completion (output) tokens.
  long long output_tokens = 0;
  /// True if the answer reported usage at all.
  bool present = false;
};

/// Reads the `usage` object of a non-streaming answer: OpenAI format
/// (`prompt_tokens`, `completion_tokens`; embeddings have only the former)
/// or Anthropic and OpenAI Responses format (`input_tokens`,
/// `output_tokens`). Counts must be non-negative integers; an absent count
/// is 0. Anything else (not JSON, no usage object, no known count) gives
/// `present == false`. Never throws.
token_usage usage_from_body(std::string_view json_body);

/// Accumulates the usage reported inside an SSE answer, event by event.
///
/// - OpenAI chat completions: a chunk with a non-null `usage` object (the
///   last chunk when `stream_options.include_usage` is set).
/// - OpenAI Responses: `response.completed` carries `response.usage`.
/// - Anthropic: `message_start` carries `message.usage.input_tokens` (and
///   sometimes `output_tokens`); each `message_delta` carries the running
///   `usage.output_tokens` (and possibly `input_tokens`).
///
/// A later report of a count replaces the earlier one. Events that are not
/// JSON objects (comments, `[DONE]`) are ignored.
class stream_usage {
public:
  /// Takes one event of the stream into account.
  void on_event(const sse_event& ev);

  /// Returns the usage seen so far; `present` once any count was reported.
  token_usage result() const {
    return usage_;
  }

private:
  token_usage usage_;
};

/// True for the extra OpenAI chunk that `stream_options.include_usage`
/// adds: a JSON object with a non-null `usage` object and an empty
/// `choices` array. A relay drops it when the client did not ask for it.
bool is_usage_only_chunk(const sse_event& ev);

/// Estimates a token count from a number of characters: ceil(chars / 4).
long long estimate_tokens(std::size_t chars);

/// Counts the characters (Unicode code points) of generated text in an SSE
/// answer, for estimating completion tokens when the upstream reports no
/// usage: OpenAI `choices[].delta.content`, `delta.refusal`, tool-call
/// arguments (`choices[].delta.tool_calls[].function.arguments`) and legacy
/// completions `choices[].text`; OpenAI Responses text and argument deltas;
/// Anthropic `content_block_delta` text (`delta.text`, `delta.partial_json`,
/// `delta.thinking`).
class stream_text_counter {
public:
  /// Takes one event of the stream into account.
  void on_event(const sse_event& ev);

  /// Returns the number of characters counted so far.
  std::size_t chars() const noexcept {
    return chars_;
  }

private:
  std::size_t chars_ = 0;
};

/// Returns the number of Unicode code points of UTF-8 text `s` (bytes that
/// are not UTF-8 continuation bytes).
std::size_t count_chars(std::string_view s);

} // namespace gatehouse::policy
