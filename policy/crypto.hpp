#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// Returns `n` bytes from the OpenSSL CSPRNG; throws std::runtime_error if
/// the generator fails.
std::string random_bytes(std::size_t n);

/// Encodes `bytes` as lowercase hexadecimal.
std::string to_hex(std::string_view bytes);

/// Decodes hexadecimal (either case); nullopt on odd length or a non-hex
/// character.
std::optional<std::string> from_hex(std::string_view hex);

/// Returns the raw 32-byte SHA-256 digest of `data`.
std::string sha256(std::string_view data);

/// Returns the SHA-256 digest of `data` as 64 lowercase hex characters.
std::string sha256_hex(std::string_view data);

/// Returns the raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Compares two byte strings in time independent of their contents; false
/// when the lengths differ.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Encodes `bytes` as base64url (RFC 4648 section 5) without padding.
std::string base64url_encode(std::string_view bytes);

/// Decodes unpadded base64url (trailing padding is tolerated); nullopt on an
/// invalid character or length.
std::optional<std::string> base64url_decode(std::string_view text);

/// Encrypts `plaintext` with AES-256-GCM under the 32-byte `key32`,
/// authenticating `aad` too. Returns nonce (12 bytes) | ciphertext | tag
/// (16 bytes). Throws std::invalid_argument on a key of the wrong size and
/// std::runtime_error if OpenSSL fails.
std::string aes_gcm_seal(std::string_view key32, std::string_view plaintext,
                         std::string_view aad);

/// Decrypts the output of aes_gcm_seal; nullopt if the key is wrong, the data
/// or `aad` was tampered with, or the input is malformed.
std::optional<std::string> aes_gcm_open(std::string_view key32,
                                        std::string_view sealed,
                                        std::string_view aad);

} // namespace gatehouse::policy
