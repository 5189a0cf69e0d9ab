#include "policy/role.hpp"

namespace gatehouse::policy {

std::optional<role> parse_role(std::string_view text) {
  if (text == "owner")
    return role::owner;
  if (text == "admin")
    return role::admin;
  if (text == "member")
    return role::member;
  if (text == "viewer")
    return role::viewer;
  return std::nullopt;
}

std::string_view to_string(role r) {
  switch (r) {
    case role::owner:
      return "owner";
    case role::admin:
      return "admin";
    case role::member:
      return "member";
    case role::viewer:
      return "viewer";
  }
  return "viewer";
}

int rank(role r) {
  switch (r) {
    case role::owner:
      return 3;
    case role::admin:
      return 2;
    case role::member:
      return 1;
    case role::viewer:
      return 0;
  }
  return 0;
}

bool at_least(role have, role need) {
  return rank(have) >= rank(need);
}

} // namespace gatehouse::policy
