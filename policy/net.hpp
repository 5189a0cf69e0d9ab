#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy {

/// An IPv4 or IPv6 address in network byte order.
struct ip_address {
  /// True for IPv6; IPv4 uses the first 4 bytes.
  bool v6 = false;
  /// The address bytes.
  std::array<unsigned char, 16> bytes{};
};

/// An IPv4 or IPv6 network: an address (host bits cleared) and a prefix.
struct cidr {
  /// The network address.
  ip_address network;
  /// Prefix length: 0..32 for IPv4, 0..128 for IPv6.
  int prefix_len = 0;
};

/// Parses a textual IP address. Accepts an IPv6 zone suffix ("%eth0",
/// ignored); IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) become IPv4.
std::optional<ip_address> parse_ip(std::string_view text);

/// Formats an address in its canonical text form.
std::string to_string(const ip_address& ip);

/// Parses "ADDRESS/PREFIX" or a bare address (= /32 or /128). Host bits
/// beyond the prefix are cleared. An IPv4-mapped address becomes an IPv4
/// network: "::ffff:10.0.0.0/104" is 10.0.0.0/8; with a prefix below 96 it
/// is refused.
std::optional<cidr> parse_cidr(std::string_view text);

/// True if `ip` (text) lies in `net`; false if `ip` does not parse or is of
/// the other family.
bool cidr_contains(const cidr& net, std::string_view ip);

/// True if `ip` lies in `net`.
bool cidr_contains(const cidr& net, const ip_address& ip);

/// Parses a comma-separated CIDR list (spaces around entries allowed). An
/// empty or blank string is an empty list; any bad or empty entry makes the
/// whole list invalid (nullopt).
std::optional<std::vector<cidr>> parse_cidr_list(std::string_view text);

/// Determines the client address of a request. If the socket peer is a
/// trusted proxy and `X-Forwarded-For` is present, the header is walked
/// right to left skipping trusted addresses and the first untrusted one is
/// returned (the leftmost if all are trusted). An unparseable entry stops
/// the walk at the nearest trusted hop to its right. Otherwise the peer is
/// returned. Addresses are returned in canonical form.
std::string resolve_client_ip(std::string_view peer_ip,
                              std::string_view x_forwarded_for,
                              const std::vector<cidr>& trusted);

} // namespace gatehouse::policy
