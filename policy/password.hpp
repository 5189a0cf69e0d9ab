#pragma once

#include <string>
#include <string_view>

namespace gatehouse::policy {

/// Lowest accepted bcrypt cost (tests use it for speed).
inline constexpr int min_bcrypt_cost = 4;

/// Highest accepted bcrypt cost.
inline constexpr int max_bcrypt_cost = 14;

/// Hashes `password` with bcrypt (`$2b$`) at `cost` and a fresh random salt.
/// Slow by design: never call it on a latency-sensitive thread. Throws
/// std::invalid_argument if `cost` is outside 4..14 or the password holds a
/// NUL byte, std::runtime_error if hashing fails.
std::string hash_password(std::string_view password, int cost);

/// Checks `password` against a bcrypt hash made by hash_password, in
/// constant time. False for a wrong password or an unusable stored hash.
bool verify_password(std::string_view password, std::string_view stored_hash);

} // namespace gatehouse::policy
