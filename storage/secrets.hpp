#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::storage {

/// The node's secrets at rest.
struct secrets {
  /// 32 raw bytes: the AES-256-GCM key for provider API keys.
  std::string master_key;
  /// The HMAC key that signs session tokens.
  std::string jwt_secret;
};

/// Loads the secrets. A non-empty `master_key_hex_from_env` (64 hex
/// characters) or `jwt_secret_from_env` wins; otherwise the value is read
/// from `<data_dir>/master.key` (64 hex) or `<data_dir>/jwt.secret`, or
/// generated once into that file with mode 0600 (`data_dir` is created with
/// 0700 when missing). Throws storage_error for a malformed value or for a
/// secrets file that group or others may access.
secrets load_or_create_secrets(const std::string& data_dir,
                               const std::string& master_key_hex_from_env,
                               const std::string& jwt_secret_from_env);

/// Encrypts `plaintext` with the master key, binding `aad` (for example the
/// org id and provider name), and returns the result as lowercase hex:
/// nonce | ciphertext | tag.
std::string seal_secret(const secrets& s, std::string_view plaintext,
                        std::string_view aad);

/// Reverses seal_secret; nullopt when `sealed_hex` is malformed, tampered
/// with, sealed under another key or with another `aad`.
std::optional<std::string> open_secret(const secrets& s,
                                       std::string_view sealed_hex,
                                       std::string_view aad);

} // namespace gatehouse::storage
