#include "policy/provider_select.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "policy/text.hpp"
#include "policy/validate.hpp"

namespace gatehouse::policy {

namespace {

// Longest header value echoed back in an error message.
constexpr std::size_t max_echoed_name = 64;

struct detection_rule {
  const char* provider;
  std::vector<std::string_view> model_prefixes;
  bool messages_path;
};

const std::vector<detection_rule>& detection_rules() {
  static const std::vector<detection_rule> rules = {
    {"anthropic", {"claude-"}, true},
    {"openai",
     {"gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-", "dall-e-",
      "whisper-", "tts-"},
     false},
    {"google", {"gemini-"}, false},
    {"mistral", {"mistral-", "codestral-"}, false},
  };
  return rules;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool has_provider(const selection_input& in, std::string_view name) {
  return std::find(in.providers.begin(), in.providers.end(), name)
         != in.providers.end();
}

bool is_messages_path(std::string_view path) {
  path = path.substr(0, path.find('?'));
  constexpr std::string_view messages = "/v1/messages";
  return path == messages
         || (starts_with(path, messages) && path[messages.size()] == '/');
}

std::string lowercase(std::string_view s) {
  std::string out{s};
  for (char& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

selection keep_model(std::string provider, const selection_input& in) {
  return selection{std::move(provider), in.model, false};
}

} // namespace

std::variant<selection, problem> select_provider(const selection_input& in) {
  if (in.header_provider && !trim(*in.header_provider).empty()) {
    auto name = lowercase(trim(*in.header_provider));
    if (has_provider(in, name))
      return keep_model(std::move(name), in);
    // The header may hold any bytes; the message must be valid UTF-8.
    return make_problem(errc::provider_required,
                        "no provider named '"
                          + echo(trim(*in.header_provider), max_echoed_name)
                          + "'");
  }
  auto slash = in.model.find('/');
  if (slash != std::string::npos && slash + 1 < in.model.size()) {
    auto prefix = std::string_view{in.model}.substr(0, slash);
    if (has_provider(in, prefix))
      return selection{std::string{prefix}, in.model.substr(slash + 1), true};
  }
  if (in.auto_detection) {
    for (const auto& rule : detection_rules()) {
      bool match = rule.messages_path && is_messages_path(in.path);
      for (auto prefix : rule.model_prefixes)
        match = match || starts_with(in.model, prefix);
      if (match && has_provider(in, rule.provider))
        return keep_model(rule.provider, in);
    }
  }
  if (in.default_provider && has_provider(in, *in.default_provider))
    return keep_model(*in.default_provider, in);
  return make_problem(
    errc::provider_required,
    "no provider selected: send the X-Gatehouse-Provider header, prefix the "
    "model with a provider name (e.g. 'openai/gpt-4o-mini'), or set a "
    "default provider for the organization");
}

} // namespace gatehouse::policy
