#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "policy/errc.hpp"

namespace gatehouse::policy {

/// The provider chosen for a proxied request.
struct selection {
  /// The org's provider name.
  std::string provider;
  /// The model to send upstream.
  std::string model;
  /// True if `model` differs from the client's (a `provider/` prefix was
  /// removed), so the body must be rewritten.
  bool model_rewritten = false;
};

/// Everything provider selection looks at.
struct selection_input {
  /// The `X-Gatehouse-Provider` header, if sent.
  std::optional<std::string> header_provider;
  /// The `model` of the request body ("" if none).
  std::string model;
  /// The request path, e.g. "/v1/messages" (a query string is ignored).
  std::string path;
  /// Whether the org's plan has `provider_auto_detection`.
  bool auto_detection = false;
  /// Names of the org's providers.
  std::vector<std::string> providers;
  /// The org's default provider, if set.
  std::optional<std::string> default_provider;
};

/// Chooses the provider of a proxied request, in this order:
///
/// 1. The `X-Gatehouse-Provider` header (trimmed, ASCII-lowercased; blank
///    counts as absent). A name the org lacks is a `provider_required`
///    problem. The model is left as is.
/// 2. A `provider/model` model whose prefix (before the first '/') is one
///    of the org's providers and whose rest is not empty: that provider,
///    and the rest is sent upstream. Other prefixes (`meta-llama/...`) are
///    not provider names and the model stays untouched.
/// 3. With auto-detection, the first rule that matches and names a provider
///    the org has: path `/v1/messages` (or below it) or model `claude-*` ->
///    `anthropic`; `gpt-*`, `o1*`, `o3*`, `o4*`, `chatgpt-*`,
///    `text-embedding-*`, `dall-e-*`, `whisper-*`, `tts-*` -> `openai`;
///    `gemini-*` -> `google`; `mistral-*`, `codestral-*` -> `mistral`.
/// 4. The org's default provider, if it is still one of its providers.
/// 5. Otherwise a `provider_required` problem explaining how to choose.
std::variant<selection, problem> select_provider(const selection_input& in);

} // namespace gatehouse::policy
