#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/json_parse.hpp"
#include "policy/outcome.hpp"
#include "policy/translate.hpp"

namespace gatehouse::policy {

/// Translates a chat request body from the client's format `from` to the
/// provider's format `to` (OpenAI chat completions ⇄ Anthropic messages):
/// system prompts, text and image parts, tools, tool calls and their
/// results, `tool_choice`, stop sequences, `max_tokens` (Anthropic requires
/// it: `default_anthropic_max_tokens` when the OpenAI request has none),
/// `temperature`, `top_p`, `stream` and the user id. An Anthropic-format
/// client's stream asks an OpenAI-format provider for usage
/// (`stream_options.include_usage`). `model`, when given, replaces the
/// body's model.
///
/// Members without a counterpart that only tune sampling or bookkeeping
/// (`frequency_penalty`, `seed`, `top_k`, ...) are dropped; what would
/// change the answer's meaning and cannot be expressed (several choices,
/// log probabilities, audio, files, JSON-schema output, server tools,
/// extended thinking) is refused with 400 `invalid_request` naming the
/// field. Never throws.
outcome<std::string> translate_request(std::string_view body, api_format from,
                                       api_format to,
                                       const std::optional<std::string>& model,
                                       int max_depth = default_json_depth);

} // namespace gatehouse::policy
