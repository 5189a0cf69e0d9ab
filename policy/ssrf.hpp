#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "policy/net.hpp"

namespace gatehouse::policy {

/// A provider base URL, split for connecting.
struct upstream_url {
  /// "http" or "https".
  std::string scheme;
  /// A lowercase host name, a dotted IPv4 address or an IPv6 address in
  /// canonical form (without brackets).
  std::string host;
  /// The port; 80 or 443 when the URL has none.
  unsigned short port = 0;
  /// The path without trailing '/' ("" for none), to which request paths
  /// are appended.
  std::string base_path;
};

/// Parses a provider base URL: `http://` or `https://` (any case), a host
/// (a name of letters, digits, '-', '_' and '.', a dotted IPv4 address or
/// a bracketed IPv6 address without zone), an optional port 1..65535 and an
/// optional path. Refused with an error message: other schemes, user
/// information, a query or fragment, whitespace, control characters or
/// backslashes, and host names ending in a numeric label that are not a
/// plain dotted IPv4 address ("127.1", "0x7f.0.0.1", "2130706433"), which
/// resolvers would read as addresses.
std::variant<upstream_url, std::string> parse_base_url(std::string_view url);

/// True if `ip` is not a public unicast address, i.e. one a provider URL
/// must not reach without the operator's consent:
/// - IPv4: 0.0.0.0/8 (unspecified), 10/8, 100.64/10 (CGNAT), 127/8,
///   169.254/16 (link-local, includes the 169.254.169.254 metadata
///   service), 172.16/12, 192.168/16, 224/4 (multicast), 240/4 (reserved,
///   includes broadcast 255.255.255.255);
/// - IPv6: everything outside 2000::/3 (the only block assigned for public
///   unicast), among them :: and ::1, fc00::/7 (unique local, includes the
///   AWS metadata address fd00:ec2::254), fe80::/10 (link-local),
///   ff00::/8 (multicast) and the deprecated IPv4-compatible ::/96;
/// - IPv4 addresses embedded in IPv4-mapped (::ffff:0:0/96), NAT64
///   (64:ff9b::/96) and 6to4 (2002::/16) IPv6 addresses are judged as
///   IPv4.
bool is_non_public_address(const ip_address& ip);

/// The operator's exception to the SSRF rules for provider URLs.
struct private_allowance {
  /// Every address and host name is allowed.
  bool all = false;
  /// Non-public networks that are allowed.
  std::vector<cidr> nets;
};

/// Parses the operator setting: "" (or blank) allows nothing, "all" (any
/// case) everything, else a comma-separated CIDR list. Nullopt if invalid.
std::optional<private_allowance>
parse_private_allowance(std::string_view setting);

/// True if a provider URL may reach `ip`: it is public, or the allowance
/// covers it (an IPv4-mapped address matches IPv4 networks too).
bool address_allowed(const ip_address& ip, const private_allowance& allow);

/// True for host names of cloud metadata services (`metadata`,
/// `metadata.google.internal`, `metadata.goog`, `instance-data`,
/// `instance-data.ec2.internal`, any case, with or without a trailing
/// dot). Refuse them unless the allowance is `all`.
bool is_metadata_hostname(std::string_view host);

} // namespace gatehouse::policy
