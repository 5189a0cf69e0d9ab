#pragma once

// What format translation shares: the two API formats, which one a
// proxied path or a provider speaks, and the JSON helpers of the
// translators (policy/translate_request.hpp, translate_response.hpp,
// translate_stream.hpp).

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// The wire format of a chat API: OpenAI chat completions or Anthropic
/// messages.
enum class api_format { openai, anthropic };

/// Returns "openai" or "anthropic".
std::string_view to_string(api_format f);

/// Parses "openai" or "anthropic".
std::optional<api_format> parse_api_format(std::string_view text);

/// The format a client speaks on a proxied path: `/v1/chat/completions` is
/// OpenAI, `/v1/messages` Anthropic; other paths are not translated.
std::optional<api_format> client_format_of(std::string_view path);

/// The chat path of a format: `/v1/chat/completions` or `/v1/messages`.
std::string_view chat_path(api_format f);

/// The default format of a provider: `anthropic` when its name is
/// `anthropic` or the host of its base URL is or ends in `anthropic.com`,
/// else `openai`.
api_format default_provider_format(std::string_view name,
                                   std::string_view base_url);

/// The log's label of a translation, e.g. "openai->anthropic".
std::string translation_label(api_format client, api_format provider);

/// The `anthropic-version` header value sent to an Anthropic provider when
/// the client did not send one.
constexpr std::string_view default_anthropic_version = "2023-06-01";

/// The `max_tokens` an Anthropic request gets when the OpenAI request it
/// comes from sets neither `max_tokens` nor `max_completion_tokens`
/// (Anthropic requires it).
constexpr long long default_anthropic_max_tokens = 4096;

} // namespace gatehouse::policy
