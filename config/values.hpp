#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::config {

/// A host and port taken from a "HOST:PORT" setting.
struct host_port {
  /// Host name or address, without IPv6 brackets.
  std::string host;
  /// Port; 0 asks the system for any free port.
  unsigned short port = 0;
};

/// Parses "HOST:PORT" or "[IPV6]:PORT". Returns nullopt if the port is
/// missing or out of range, the host is empty or an IPv6 host is not in
/// brackets.
std::optional<host_port> parse_listen(std::string_view text);

/// Parses a decimal integer within [min, max]; nullopt otherwise.
std::optional<int> parse_int_in_range(std::string_view text, int min, int max);

/// True for "sqlite://PATH" (non-empty path), "postgresql://..." and
/// "postgres://..." URLs.
bool is_database_url(std::string_view text);

/// True if `text` is a comma-separated list of IPv4/IPv6 addresses with an
/// optional "/PREFIX" (spaces around entries allowed). An empty or blank
/// string is an empty list and valid.
bool is_cidr_list(std::string_view text);

/// True if `text` is exactly 64 hexadecimal characters.
bool is_hex64(std::string_view text);

/// Removes leading and trailing ASCII whitespace.
std::string_view trim(std::string_view text);

} // namespace gatehouse::config
