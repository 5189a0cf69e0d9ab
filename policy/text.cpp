#include "policy/text.hpp"

namespace gatehouse::policy {

namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD

/// Length of the well-formed UTF-8 sequence at the start of `s`, or 0.
std::size_t sequence_length(std::string_view s) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2))
      return 0;
    if (c == 0xE0 && b(1) < 0xA0)
      return 0; // overlong
    if (c == 0xED && b(1) >= 0xA0)
      return 0; // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    if (c == 0xF0 && b(1) < 0x90)
      return 0; // overlong
    if (c == 0xF4 && b(1) >= 0x90)
      return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

/// Appends the clean form of `s` to `out`, at most `max_bytes` in all;
/// returns false if something had to be cut.
bool append_clean(std::string& out, std::string_view s, std::size_t max_bytes,
                  bool controls) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto n = sequence_length(s.substr(i));
    std::string_view piece;
    auto c = static_cast<unsigned char>(s[i]);
    if (n == 0 || c == 0 || (controls && (c < 0x20 || c == 0x7F))) {
      piece = replacement;
      n = n == 0 ? 1 : n;
    } else {
      piece = s.substr(i, n);
    }
    if (out.size() + piece.size() > max_bytes)
      return false;
    out.append(piece);
    i += n;
  }
  return true;
}

} // namespace

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    auto n = sequence_length(s.substr(i));
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

std::string clean_utf8(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes && s.find('\0') == std::string_view::npos
      && valid_utf8(s))
    return std::string{s};
  std::string out;
  out.reserve(s.size() < max_bytes ? s.size() + 8 : max_bytes);
  append_clean(out, s, max_bytes, false);
  return out;
}

std::string echo(std::string_view s, std::size_t max_bytes) {
  std::string out;
  out.reserve(s.size() < max_bytes ? s.size() : max_bytes + 3);
  if (!append_clean(out, s, max_bytes, true))
    out.append("\xE2\x80\xA6"); // …
  return out;
}

bool has_control_bytes(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F)
      return true;
  }
  return false;
}

bool is_http_token(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9');
    if (!ok) {
      switch (c) {
        case '!': case '#': case '$': case '%': case '&': case '\'':
        case '*': case '+': case '-': case '.': case '^': case '_':
        case '`': case '|': case '~':
          ok = true;
          break;
        default:
          break;
      }
    }
    if (!ok)
      return false;
  }
  return true;
}

} // namespace gatehouse::policy
