#pragma once

#include <optional>
#include <string_view>

namespace gatehouse::policy {

/// A member's role in an organization, from most to least privileged.
enum class role { owner, admin, member, viewer };

/// Parses "owner", "admin", "member" or "viewer".
std::optional<role> parse_role(std::string_view text);

/// Returns the wire name of `r`.
std::string_view to_string(role r);

/// Returns the privilege rank of `r`: owner 3, admin 2, member 1, viewer 0.
int rank(role r);

/// True if `have` is at least as privileged as `need`.
bool at_least(role have, role need);

} // namespace gatehouse::policy
