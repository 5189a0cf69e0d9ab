#include "config/values.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace gatehouse::config {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool is_ipv6(std::string_view text) {
  if (text.empty() || text.size() > 45)
    return false;
  std::string buf{text};
  in6_addr addr;
  return inet_pton(AF_INET6, buf.c_str(), &addr) == 1;
}

bool is_ipv4(std::string_view text) {
  if (text.empty() || text.size() > 15)
    return false;
  std::string buf{text};
  in_addr addr;
  return inet_pton(AF_INET, buf.c_str(), &addr) == 1;
}

bool is_host_name(std::string_view text) {
  if (text.empty() || text.size() > 253)
    return false;
  for (char c : text)
    if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || c == '-' || c == '.'))
      return false;
  return true;
}

bool is_cidr(std::string_view entry) {
  auto slash = entry.find('/');
  auto addr = entry.substr(0, slash);
  int max;
  if (is_ipv4(addr))
    max = 32;
  else if (is_ipv6(addr))
    max = 128;
  else
    return false;
  if (slash == std::string_view::npos)
    return true;
  return parse_int_in_range(entry.substr(slash + 1), 0, max).has_value();
}

} // namespace

std::string_view trim(std::string_view text) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
  };
  while (!text.empty() && space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && space(text.back()))
    text.remove_suffix(1);
  return text;
}

std::optional<host_port> parse_listen(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  auto host = text.substr(0, colon);
  auto port = parse_int_in_range(text.substr(colon + 1), 0, 65535);
  if (!port)
    return std::nullopt;
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      return std::nullopt;
    host = host.substr(1, host.size() - 2);
    if (!is_ipv6(host))
      return std::nullopt;
  } else if (!is_ipv4(host) && !is_host_name(host)) {
    // Covers an unbracketed IPv6 address, whose port would be ambiguous.
    return std::nullopt;
  }
  return host_port{std::string{host}, static_cast<unsigned short>(*port)};
}

std::optional<int> parse_int_in_range(std::string_view text, int min, int max) {
  if (text.empty() || text.size() > 9)
    return std::nullopt;
  int v = 0;
  for (char c : text) {
    if (!is_digit(c))
      return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < min || v > max)
    return std::nullopt;
  return v;
}

bool is_database_url(std::string_view text) {
  if (starts_with(text, "sqlite://"))
    return text.size() > 9;
  if (starts_with(text, "postgresql://"))
    return text.size() > 13;
  if (starts_with(text, "postgres://"))
    return text.size() > 11;
  return false;
}

bool is_cidr_list(std::string_view text) {
  if (trim(text).empty())
    return true;
  std::size_t start = 0;
  while (true) {
    auto comma = text.find(',', start);
    auto entry = trim(text.substr(start, comma == std::string_view::npos
                                           ? std::string_view::npos
                                           : comma - start));
    if (!is_cidr(entry))
      return false;
    if (comma == std::string_view::npos)
      return true;
    start = comma + 1;
  }
}

bool is_hex64(std::string_view text) {
  if (text.size() != 64)
    return false;
  for (char c : text)
    if (!is_hex(c))
      return false;
  return true;
}

} // namespace gatehouse::config
