#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// Why a proxied request path must not be appended to a provider's base
/// path, or nothing when it may: a `.` or `..` segment, an encoded dot,
/// slash or backslash (`%2e`, `%2f`, `%5c`, any case), a backslash, or a
/// byte that is not printable ASCII could make the upstream resolve a path
/// outside the provider's base.
std::optional<std::string> proxied_path_problem(std::string_view path);

} // namespace gatehouse::policy
