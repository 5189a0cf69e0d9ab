#include "policy/scopes.hpp"

#include "policy/text.hpp"
#include "policy/validate.hpp"

namespace gatehouse::policy {

namespace {

constexpr std::string_view all_scope = "*";
constexpr std::string_view provider_tag = "provider:";
constexpr std::string_view model_tag = "model:";
constexpr std::size_t max_model_chars = 128;
// Longest part of a scope quoted in an error message.
constexpr std::size_t max_echoed_scope = 160;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The start of an error message about `scope`, which may hold any bytes.
std::string invalid(std::string_view scope) {
  return "invalid scope '" + echo(scope, max_echoed_scope) + "': ";
}

} // namespace

std::optional<std::string> validate_scope(std::string_view scope) {
  if (scope == all_scope)
    return std::nullopt;
  if (starts_with(scope, provider_tag)) {
    auto name = scope.substr(provider_tag.size());
    if (auto err = validate_provider_name(name))
      return invalid(scope) + *err;
    return std::nullopt;
  }
  if (starts_with(scope, model_tag)) {
    auto name = scope.substr(model_tag.size());
    if (name.empty() || name.size() > max_model_chars)
      return invalid(scope) + "model name must be 1 to 128 characters";
    for (unsigned char c : name)
      if (c <= 0x20 || c >= 0x7f)
        return invalid(scope)
               + "model name must be printable ASCII without spaces";
    return std::nullopt;
  }
  return invalid(scope) + "expected '*', 'provider:<name>' or 'model:<name>'";
}

bool scopes_allow(const std::vector<std::string>& scopes,
                  std::string_view provider, std::string_view model) {
  bool any_provider = false;
  bool provider_listed = false;
  bool any_model = false;
  bool model_listed = false;
  for (const auto& s : scopes) {
    std::string_view scope{s};
    if (scope == all_scope)
      return true;
    if (starts_with(scope, provider_tag)) {
      any_provider = true;
      provider_listed |= scope.substr(provider_tag.size()) == provider;
    } else if (starts_with(scope, model_tag)) {
      any_model = true;
      model_listed |= scope.substr(model_tag.size()) == model;
    }
  }
  if (!any_provider && !any_model)
    return false;
  return (!any_provider || provider_listed) && (!any_model || model_listed);
}

} // namespace gatehouse::policy
