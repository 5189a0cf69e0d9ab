#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy {

/// Checks one API-key scope: `*`, `provider:<name>` (provider name rule) or
/// `model:<name>` (1..128 printable ASCII characters, no spaces). Returns an
/// error message, nullopt if valid.
std::optional<std::string> validate_scope(std::string_view scope);

/// Decides whether a key with `scopes` may call `model` on `provider`.
/// `*` allows everything. Otherwise, if any `provider:` scope is present the
/// provider must be one of them, and if any `model:` scope is present the
/// model must be one of them. An empty scope list allows nothing.
bool scopes_allow(const std::vector<std::string>& scopes,
                  std::string_view provider, std::string_view model);

} // namespace gatehouse::policy
