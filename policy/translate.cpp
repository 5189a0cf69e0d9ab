#include "policy/translate.hpp"

#include "policy/ssrf.hpp"

namespace gatehouse::policy {

std::string_view to_string(api_format f) {
  return f == api_format::anthropic ? "anthropic" : "openai";
}

std::optional<api_format> parse_api_format(std::string_view text) {
  if (text == "openai")
    return api_format::openai;
  if (text == "anthropic")
    return api_format::anthropic;
  return std::nullopt;
}

std::optional<api_format> client_format_of(std::string_view path) {
  if (path == "/v1/chat/completions")
    return api_format::openai;
  if (path == "/v1/messages")
    return api_format::anthropic;
  return std::nullopt;
}

std::string_view chat_path(api_format f) {
  return f == api_format::anthropic ? "/v1/messages" : "/v1/chat/completions";
}

namespace {

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size())
    return false;
  s = s.substr(s.size() - suffix.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i])
      return false;
  }
  return true;
}

} // namespace

api_format default_provider_format(std::string_view name,
                                   std::string_view base_url) {
  if (name == "anthropic")
    return api_format::anthropic;
  auto url = parse_base_url(base_url);
  if (auto* u = std::get_if<upstream_url>(&url)) {
    std::string_view host = u->host;
    if (!host.empty() && host.back() == '.')
      host.remove_suffix(1);
    if (ends_with_ci(host, ".anthropic.com") || host == "anthropic.com")
      return api_format::anthropic;
  }
  return api_format::openai;
}

std::string translation_label(api_format client, api_format provider) {
  return std::string{to_string(client)} + "->"
         + std::string{to_string(provider)};
}

} // namespace gatehouse::policy
