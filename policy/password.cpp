#include "policy/password.hpp"

#include "policy/crypto.hpp"

#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>

#include <crypt.h>
#include <openssl/crypto.h>

namespace gatehouse::policy {

namespace {

// bcrypt consumes 16 bytes of salt.
constexpr std::size_t bcrypt_salt_bytes = 16;

bool has_nul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

bool is_bcrypt_hash(std::string_view h) {
  // Only bcrypt settings are honoured: anything else would let a corrupted
  // row select a weaker algorithm of crypt(3).
  return h.size() == 60
         && (h.substr(0, 4) == "$2b$" || h.substr(0, 4) == "$2a$"
             || h.substr(0, 4) == "$2y$");
}

// Runs crypt_rn in a zeroed heap buffer (struct crypt_data is ~32 KiB).
std::optional<std::string> run_crypt(const std::string& phrase,
                                     const std::string& setting) {
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), data.get(),
                             static_cast<int>(sizeof(crypt_data)));
  std::optional<std::string> result;
  if (out != nullptr && out[0] != '*')
    result = std::string{out};
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return result;
}

} // namespace

std::string hash_password(std::string_view password, int cost) {
  if (cost < min_bcrypt_cost || cost > max_bcrypt_cost)
    throw std::invalid_argument("bcrypt cost must be between 4 and 14");
  if (has_nul(password))
    throw std::invalid_argument("password must not contain NUL bytes");
  std::string salt = random_bytes(bcrypt_salt_bytes);
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), salt.data(),
                       static_cast<int>(salt.size()), setting,
                       static_cast<int>(sizeof(setting)))
      == nullptr)
    throw std::runtime_error("crypt_gensalt_rn failed");
  auto hashed = run_crypt(std::string{password}, std::string{setting});
  if (!hashed || !is_bcrypt_hash(*hashed))
    throw std::runtime_error("bcrypt hashing failed");
  return *hashed;
}

bool verify_password(std::string_view password, std::string_view stored_hash) {
  if (has_nul(password) || !is_bcrypt_hash(stored_hash))
    return false;
  auto hashed = run_crypt(std::string{password}, std::string{stored_hash});
  if (!hashed)
    return false;
  return constant_time_equal(*hashed, stored_hash);
}

} // namespace gatehouse::policy
