#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// Prefix of every Gatehouse API key.
inline constexpr std::string_view api_key_prefix = "sk-gate-";

/// Length of a raw API key: the prefix plus 64 hex characters.
inline constexpr std::size_t api_key_length = 8 + 64;

/// Generates a new raw API key: "sk-gate-" + 64 lowercase hex characters
/// from 32 CSPRNG bytes.
std::string generate_api_key();

/// True if `raw` has the exact shape of a Gatehouse API key.
bool is_api_key_format(std::string_view raw);

/// Returns the displayable prefix of a key: its first 12 characters.
std::string key_prefix(std::string_view raw);

/// Returns the stored form of a key: SHA-256 as lowercase hex.
std::string key_hash(std::string_view raw);

/// Returns the part of a key hash that may appear in logs: its first 12
/// hex characters.
std::string hash_fingerprint(std::string_view hash_hex);

} // namespace gatehouse::policy
