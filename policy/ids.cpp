#include "policy/ids.hpp"

#include "policy/crypto.hpp"

namespace gatehouse::policy {

std::string uuid_v4() {
  auto b = random_bytes(16);
  // RFC 4122 section 4.4: version 4, variant 10xx.
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0f) | 0x40);
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3f) | 0x80);
  auto hex = to_hex(b);
  std::string out;
  out.reserve(36);
  out.append(hex, 0, 8).push_back('-');
  out.append(hex, 8, 4).push_back('-');
  out.append(hex, 12, 4).push_back('-');
  out.append(hex, 16, 4).push_back('-');
  out.append(hex, 20, 12);
  return out;
}

} // namespace gatehouse::policy
