#include "policy/validate.hpp"

#include <cstdint>

namespace gatehouse::policy {

namespace {

constexpr std::size_t max_email_bytes = 254;
constexpr std::size_t max_email_local_bytes = 64;
constexpr std::size_t min_password_bytes = 8;
constexpr std::size_t max_password_bytes = 72;
constexpr std::size_t min_slug_chars = 3;
constexpr std::size_t max_slug_chars = 63;
constexpr std::size_t max_display_name_chars = 100;
constexpr std::size_t max_provider_name_chars = 64;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
         || c == '\v';
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
         || (c >= 'A' && c <= 'F');
}

char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Decodes the UTF-8 sequence at `s[i]`, advancing `i`. Returns false on
// malformed input.
bool next_code_point(std::string_view s, std::size_t& i, std::uint32_t& cp) {
  auto byte = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[k]));
  };
  std::uint32_t b0 = byte(i);
  std::size_t len;
  std::uint32_t min;
  if (b0 < 0x80) {
    cp = b0;
    ++i;
    return true;
  } else if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    cp = b0 & 0x1f;
    min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    cp = b0 & 0x0f;
    min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    return false;
  }
  if (i + len > s.size())
    return false;
  for (std::size_t k = 1; k < len; ++k) {
    std::uint32_t b = byte(i + k);
    if ((b & 0xc0) != 0x80)
      return false;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return false;
  i += len;
  return true;
}

bool is_control(std::uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

} // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  std::uint32_t cp = 0;
  while (i < s.size())
    if (!next_code_point(s, i, cp))
      return false;
  return true;
}

std::optional<std::string> validate_email(std::string_view email) {
  if (email.empty())
    return "email is required";
  if (email.size() > max_email_bytes)
    return "email must be at most 254 characters";
  for (char c : email) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f)
      return "email must not contain spaces or control characters";
  }
  auto at = email.find('@');
  if (at == std::string_view::npos)
    return "email must contain '@'";
  if (email.find('@', at + 1) != std::string_view::npos)
    return "email must contain exactly one '@'";
  auto local = email.substr(0, at);
  auto domain = email.substr(at + 1);
  if (local.empty())
    return "email local part is empty";
  if (local.size() > max_email_local_bytes)
    return "email local part must be at most 64 characters";
  if (domain.find('.') == std::string_view::npos)
    return "email domain must contain a dot";
  if (domain.front() == '.' || domain.back() == '.'
      || domain.find("..") != std::string_view::npos)
    return "email domain has an empty label";
  return std::nullopt;
}

std::string normalize_email(std::string_view email) {
  std::string out{trim(email)};
  for (char& c : out)
    c = to_lower(c);
  return out;
}

std::optional<std::string> validate_password(std::string_view password) {
  if (password.size() < min_password_bytes)
    return "password must be at least 8 characters";
  if (password.size() > max_password_bytes)
    return "password must be at most 72 bytes";
  if (password.find('\0') != std::string_view::npos)
    return "password must not contain NUL characters";
  return std::nullopt;
}

std::optional<std::string> validate_org_slug(std::string_view slug) {
  if (slug.size() < min_slug_chars || slug.size() > max_slug_chars)
    return "org_slug must be 3 to 63 characters";
  for (char c : slug)
    if (!is_lower_alnum(c) && c != '-')
      return "org_slug may contain only lowercase letters, digits and '-'";
  if (slug.front() == '-' || slug.back() == '-')
    return "org_slug must start and end with a letter or digit";
  if (slug.find("--") != std::string_view::npos)
    return "org_slug must not contain '--'";
  return std::nullopt;
}

std::optional<std::string> validate_display_name(std::string_view name) {
  if (!is_valid_utf8(name))
    return "must be valid UTF-8";
  auto t = trim(name);
  if (t.empty())
    return "is required";
  std::size_t count = 0;
  std::size_t i = 0;
  std::uint32_t cp = 0;
  while (i < t.size()) {
    next_code_point(t, i, cp);
    if (is_control(cp))
      return "must not contain control characters";
    ++count;
  }
  if (count > max_display_name_chars)
    return "must be at most 100 characters";
  return std::nullopt;
}

std::optional<std::string> validate_provider_name(std::string_view name) {
  if (name.empty())
    return "provider name is required";
  if (name.size() > max_provider_name_chars)
    return "provider name must be at most 64 characters";
  if (!is_lower_alnum(name.front()))
    return "provider name must start with a lowercase letter or digit";
  for (char c : name)
    if (!is_lower_alnum(c) && c != '_' && c != '-')
      return "provider name may contain only lowercase letters, digits, '_' "
             "and '-'";
  return std::nullopt;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36)
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_pos ? s[i] != '-' : !is_hex(s[i]))
      return false;
  }
  return true;
}

std::string slugify(std::string_view name) {
  std::string out;
  bool pending_dash = false;
  for (char c : name) {
    char l = to_lower(c);
    if (is_lower_alnum(l)) {
      if (pending_dash && !out.empty())
        out.push_back('-');
      pending_dash = false;
      out.push_back(l);
    } else {
      pending_dash = true;
    }
  }
  if (out.size() > max_slug_chars)
    out.resize(max_slug_chars);
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  if (out.empty())
    out = "app";
  return out;
}

std::string numbered_slug(std::string_view base, int n) {
  if (n <= 1)
    return std::string{base};
  std::string suffix = "-" + std::to_string(n);
  std::string out{base.substr(
    0, max_slug_chars > suffix.size() ? max_slug_chars - suffix.size() : 0)};
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  return out + suffix;
}

} // namespace gatehouse::policy
