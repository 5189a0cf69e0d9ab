#include "policy/api_key.hpp"

#include "policy/crypto.hpp"

namespace gatehouse::policy {

namespace {

constexpr std::size_t key_random_bytes = 32;
constexpr std::size_t prefix_chars = 12;
constexpr std::size_t fingerprint_chars = 12;

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

} // namespace

std::string generate_api_key() {
  std::string key{api_key_prefix};
  key += to_hex(random_bytes(key_random_bytes));
  return key;
}

bool is_api_key_format(std::string_view raw) {
  if (raw.size() != api_key_length
      || raw.substr(0, api_key_prefix.size()) != api_key_prefix)
    return false;
  for (char c : raw.substr(api_key_prefix.size()))
    if (!is_lower_hex(c))
      return false;
  return true;
}

std::string key_prefix(std::string_view raw) {
  return std::string{raw.substr(0, prefix_chars)};
}

std::string key_hash(std::string_view raw) {
  return sha256_hex(raw);
}

std::string hash_fingerprint(std::string_view hash_hex) {
  return std::string{hash_hex.substr(0, fingerprint_chars)};
}

} // namespace gatehouse::policy
