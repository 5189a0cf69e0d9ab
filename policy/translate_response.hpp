#pragma once

#include <string>
#include <string_view>

#include "policy/json_parse.hpp"
#include "policy/outcome.hpp"
#include "policy/translate.hpp"

namespace gatehouse::policy {

/// Maps a stop reason of one format to the other: OpenAI `stop` ⇄
/// Anthropic `end_turn` (and `stop_sequence`, `pause_turn` → `stop`),
/// `length` ⇄ `max_tokens`, `tool_calls` ⇄ `tool_use`, `content_filter` ⇄
/// `refusal`. An unknown reason maps to `stop` / `end_turn`.
std::string_view translate_stop_reason(std::string_view reason, api_format from,
                                       api_format to);

/// Translates a whole (non-streamed) successful answer from the provider's
/// format `from` to the client's format `to`: id, model, text, tool calls,
/// stop reason and usage (OpenAI `prompt_tokens`/`completion_tokens` ⇄
/// Anthropic `input_tokens`/`output_tokens`; Anthropic's cache reads and
/// writes count as prompt tokens). `created_s` is the Unix time an OpenAI
/// answer carries. An answer that is not such a JSON object, or a tool
/// call whose arguments are not a JSON object, is 502 `upstream_error`.
/// Never throws.
outcome<std::string> translate_response(std::string_view body, api_format from,
                                        api_format to, long long created_s,
                                        int max_depth = default_json_depth);

/// Translates an error answer's body (OpenAI `{"error": {"message",
/// "type", ...}}` ⇄ Anthropic `{"type": "error", "error": {"type",
/// "message"}}`), so that the client's SDK reads the provider's message.
/// A body of neither shape gives a generic one with `status`. Never
/// throws.
std::string translate_error_body(std::string_view body, api_format from,
                                 api_format to, int status,
                                 int max_depth = default_json_depth);

} // namespace gatehouse::policy
