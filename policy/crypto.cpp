#include "policy/crypto.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace gatehouse::policy {

namespace {

constexpr std::size_t gcm_nonce_size = 12;
constexpr std::size_t gcm_tag_size = 16;
constexpr std::size_t aes256_key_size = 32;

struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* ctx) const {
    EVP_CIPHER_CTX_free(ctx);
  }
};

using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

unsigned char* bytes_of(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

constexpr char b64url_alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

bool fits_int(std::size_t n) {
  return n <= static_cast<std::size_t>(std::numeric_limits<int>::max());
}

} // namespace

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n == 0)
    return out;
  if (!fits_int(n) || RAND_bytes(bytes_of(out), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0x0f]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0)
    return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]);
    int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

std::string sha256(std::string_view data) {
  // Every API key is hashed on every request: the algorithm is fetched
  // from OpenSSL's providers once (an implicit fetch per call takes a
  // lock), and each thread keeps its digest context.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* ctx) const {
      EVP_MD_CTX_free(ctx);
    }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx{
    EVP_MD_CTX_new()};
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  if (md == nullptr || ctx == nullptr
      || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1
      || EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1
      || EVP_DigestFinal_ex(ctx.get(), bytes_of(out), &len) != 1)
    throw std::runtime_error("SHA-256 failed");
  out.resize(len);
  return out;
}

std::string sha256_hex(std::string_view data) {
  return to_hex(sha256(data));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  // HMAC() needs a non-null key pointer even for an empty key.
  static const unsigned char empty = 0;
  const unsigned char* key_ptr = key.empty() ? &empty : bytes_of(key);
  if (!fits_int(key.size())
      || HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
              bytes_of(data), data.size(), bytes_of(out), &len)
           == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  out.resize(len);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  if (a.empty())
    return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) {
    return static_cast<unsigned>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
    out.push_back(b64url_alphabet[(v >> 6) & 63]);
    out.push_back(b64url_alphabet[v & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    unsigned v = byte(i) << 16;
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
    out.push_back(b64url_alphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // Tolerate standard '=' padding, but only up to a full quantum.
  if (text.size() % 4 == 0) {
    std::size_t pad = 0;
    while (pad < 2 && !text.empty() && text.back() == '=') {
      text.remove_suffix(1);
      ++pad;
    }
  }
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = b64url_value(c);
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, so that every string has one encoding.
  if ((acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

std::string aes_gcm_seal(std::string_view key32, std::string_view plaintext,
                         std::string_view aad) {
  if (key32.size() != aes256_key_size)
    throw std::invalid_argument("AES-256-GCM key must be 32 bytes");
  if (!fits_int(plaintext.size()) || !fits_int(aad.size()))
    throw std::invalid_argument("AES-256-GCM input too large");
  std::string nonce = random_bytes(gcm_nonce_size);
  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  if (!ctx)
    throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  std::string out;
  out.resize(gcm_nonce_size + plaintext.size() + gcm_tag_size);
  out.replace(0, gcm_nonce_size, nonce);
  auto* ct = bytes_of(out) + gcm_nonce_size;
  int len = 0;
  int total = 0;
  bool ok = EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), bytes_of(key32),
                                bytes_of(nonce), nullptr)
            == 1;
  if (ok && !aad.empty())
    ok = EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad),
                           static_cast<int>(aad.size()))
         == 1;
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), ct, &len, bytes_of(plaintext),
                           static_cast<int>(plaintext.size()))
         == 1;
    total = len;
  }
  if (ok) {
    ok = EVP_EncryptFinal_ex(ctx.get(), ct + total, &len) == 1;
    total += len;
  }
  if (ok)
    ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG,
                             static_cast<int>(gcm_tag_size), ct + total)
         == 1;
  if (!ok || static_cast<std::size_t>(total) != plaintext.size())
    throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

std::optional<std::string> aes_gcm_open(std::string_view key32,
                                        std::string_view sealed,
                                        std::string_view aad) {
  if (key32.size() != aes256_key_size
      || sealed.size() < gcm_nonce_size + gcm_tag_size
      || !fits_int(sealed.size()) || !fits_int(aad.size()))
    return std::nullopt;
  auto nonce = sealed.substr(0, gcm_nonce_size);
  auto ct = sealed.substr(gcm_nonce_size,
                          sealed.size() - gcm_nonce_size - gcm_tag_size);
  // OpenSSL wants a mutable pointer for the expected tag.
  std::array<unsigned char, gcm_tag_size> tag{};
  auto tag_view = sealed.substr(sealed.size() - gcm_tag_size);
  std::copy(tag_view.begin(), tag_view.end(), tag.begin());
  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  if (!ctx)
    return std::nullopt;
  std::string out(ct.size(), '\0');
  int len = 0;
  int total = 0;
  if (EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), bytes_of(key32),
                          bytes_of(nonce), nullptr)
      != 1)
    return std::nullopt;
  if (!aad.empty()
      && EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad),
                           static_cast<int>(aad.size()))
           != 1)
    return std::nullopt;
  if (!ct.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), bytes_of(out), &len, bytes_of(ct),
                          static_cast<int>(ct.size()))
        != 1)
      return std::nullopt;
    total = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG,
                          static_cast<int>(gcm_tag_size), tag.data())
      != 1)
    return std::nullopt;
  // The final call verifies the tag; nothing is released before it passes.
  if (EVP_DecryptFinal_ex(ctx.get(), bytes_of(out) + total, &len) != 1)
    return std::nullopt;
  total += len;
  out.resize(static_cast<std::size_t>(total));
  return out;
}

} // namespace gatehouse::policy
