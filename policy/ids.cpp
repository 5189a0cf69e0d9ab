#include "policy/ids.hpp"

#include <cstdint>
#include <cstring>
#include <random>

#include "policy/crypto.hpp"

namespace gatehouse::policy {

namespace {

/// Canonical 8-4-4-4-12 lowercase form of 16 bytes.
std::string canonical(const unsigned char (&b)[16]) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out.push_back('-');
    out.push_back(digits[b[i] >> 4]);
    out.push_back(digits[b[i] & 0x0f]);
  }
  return out;
}

/// Version and variant bits of RFC 9562.
void stamp(unsigned char (&b)[16], unsigned version) {
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | (version << 4));
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
}

std::mt19937_64& thread_generator() {
  thread_local std::mt19937_64 gen = [] {
    auto seed = random_bytes(32);
    std::seed_seq seq(seed.begin(), seed.end());
    return std::mt19937_64{seq};
  }();
  return gen;
}

} // namespace

std::string uuid_v4() {
  auto r = random_bytes(16);
  unsigned char b[16];
  std::memcpy(b, r.data(), 16);
  stamp(b, 4);
  return canonical(b);
}

std::string uuid_v7(long long unix_ms) {
  auto ms = static_cast<std::uint64_t>(unix_ms < 0 ? 0 : unix_ms);
  unsigned char b[16];
  for (int i = 0; i < 6; ++i)
    b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  auto& gen = thread_generator();
  std::uint64_t hi = gen(), lo = gen();
  for (int i = 6; i < 8; ++i)
    b[i] = static_cast<unsigned char>(hi >> (8 * (i - 6)));
  for (int i = 8; i < 16; ++i)
    b[i] = static_cast<unsigned char>(lo >> (8 * (i - 8)));
  stamp(b, 7);
  return canonical(b);
}

} // namespace gatehouse::policy
