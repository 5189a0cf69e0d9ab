#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// The claims of a Gatehouse session token.
struct claims {
  /// User id.
  std::string sub;
  /// Organization id the session acts in.
  std::string org;
  /// Issued at, Unix seconds.
  long long iat = 0;
  /// Expires at, Unix seconds.
  long long exp = 0;
};

/// Signs `c` as a compact HS256 JWT with header {"alg":"HS256","typ":"JWT"}.
/// Throws std::invalid_argument if `secret` is empty.
std::string sign_jwt(const claims& c, std::string_view secret);

/// Verifies an HS256 token and returns its claims. Returns nullopt for
/// anything but a well-formed token with header alg "HS256", a valid
/// signature under `secret` (compared in constant time), string `sub` and
/// `org`, integer `iat` and `exp`, and `exp` later than `now_s`.
std::optional<claims> verify_jwt(std::string_view token,
                                 std::string_view secret, long long now_s);

} // namespace gatehouse::policy
