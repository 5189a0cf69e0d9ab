#include "policy/ssrf.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>

#include "policy/validate.hpp"

namespace gatehouse::policy {

namespace {

constexpr std::size_t max_host_chars = 253;
constexpr std::size_t max_label_chars = 63;

std::vector<cidr> parse_nets(std::initializer_list<const char*> texts) {
  std::vector<cidr> nets;
  for (const char* text : texts)
    nets.push_back(*parse_cidr(text));
  return nets;
}

const std::vector<cidr>& non_public_v4() {
  static const auto nets = parse_nets({
    "0.0.0.0/8",      // unspecified, "this network"
    "10.0.0.0/8",     // private
    "100.64.0.0/10",  // carrier-grade NAT
    "127.0.0.0/8",    // loopback
    "169.254.0.0/16", // link-local, cloud metadata services
    "172.16.0.0/12",  // private
    "192.168.0.0/16", // private
    "224.0.0.0/4",    // multicast
    "240.0.0.0/4",    // reserved, limited broadcast
  });
  return nets;
}

// IANA assigns public unicast IPv6 addresses only from 2000::/3; the rest
// is loopback, unspecified, unique local, link-local, multicast or
// reserved.
const cidr& global_unicast_v6() {
  static const cidr net = *parse_cidr("2000::/3");
  return net;
}

bool in_any(const std::vector<cidr>& nets, const ip_address& ip) {
  return std::any_of(nets.begin(), nets.end(),
                     [&](const cidr& net) { return cidr_contains(net, ip); });
}

ip_address v4_from(const ip_address& ip, std::size_t offset) {
  ip_address v4;
  std::copy(ip.bytes.begin() + offset, ip.bytes.begin() + offset + 4,
            v4.bytes.begin());
  return v4;
}

bool starts_with_bytes(const ip_address& ip,
                       std::initializer_list<unsigned char> prefix) {
  return std::equal(prefix.begin(), prefix.end(), ip.bytes.begin());
}

// The IPv4 address an IPv6 address stands for, if it embeds one that
// reaches an IPv4 host: IPv4-mapped, NAT64 (well-known prefix) and 6to4.
std::optional<ip_address> embedded_v4(const ip_address& ip) {
  if (!ip.v6)
    return std::nullopt;
  if (starts_with_bytes(ip, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}))
    return v4_from(ip, 12);
  if (starts_with_bytes(ip, {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}))
    return v4_from(ip, 12);
  if (starts_with_bytes(ip, {0x20, 0x02}))
    return v4_from(ip, 2);
  return std::nullopt;
}

std::string lowercase(std::string_view s) {
  std::string out{s};
  for (char& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f');
}

// True if a (lowercase) label reads as a number to an IPv4 parser: decimal,
// octal or 0x-hexadecimal.
bool is_numeric_label(std::string_view label) {
  if (label.size() >= 2 && label[0] == '0' && label[1] == 'x')
    return std::all_of(label.begin() + 2, label.end(), is_hex_digit);
  return !label.empty() && std::all_of(label.begin(), label.end(), is_digit);
}

// Checks a lowercase host name. Returns an error message, or "" if valid.
std::string check_host_name(std::string_view host) {
  if (host.size() > max_host_chars)
    return "host name too long";
  auto name = host;
  if (name.back() == '.')
    name.remove_suffix(1);
  if (name.empty())
    return "invalid host name";
  std::string_view last;
  std::size_t start = 0;
  while (true) {
    auto dot = name.find('.', start);
    auto label = name.substr(start, dot == std::string_view::npos
                                      ? std::string_view::npos
                                      : dot - start);
    if (label.empty() || label.size() > max_label_chars)
      return "invalid host name";
    for (char c : label)
      if (!(is_digit(c) || (c >= 'a' && c <= 'z') || c == '-' || c == '_'))
        return "invalid character in host name";
    if (label.front() == '-' || label.back() == '-')
      return "host name labels may not start or end with '-'";
    last = label;
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  if (is_numeric_label(last))
    return "numeric host must be a dotted IPv4 address";
  return "";
}

std::optional<unsigned short> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5
      || !std::all_of(text.begin(), text.end(), is_digit))
    return std::nullopt;
  unsigned long v = 0;
  for (char c : text)
    v = v * 10 + static_cast<unsigned long>(c - '0');
  if (v == 0 || v > 65535)
    return std::nullopt;
  return static_cast<unsigned short>(v);
}

} // namespace

std::variant<upstream_url, std::string> parse_base_url(std::string_view url) {
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f)
      return std::string{"URL may contain only printable ASCII without spaces"};
    if (c == '\\')
      return std::string{"URL may not contain backslashes"};
  }
  if (url.find_first_of("?#") != std::string_view::npos)
    return std::string{"URL may not have a query or fragment"};
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return std::string{"URL must start with http:// or https://"};
  upstream_url out;
  out.scheme = lowercase(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https")
    return std::string{"URL scheme must be http or https"};
  auto rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  auto path
    = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    return std::string{"URL may not contain user information"};
  if (authority.empty())
    return std::string{"URL has no host"};
  std::string_view port_text;
  bool has_port = false;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::string{"unterminated IPv6 address in URL"};
    auto literal = authority.substr(1, close - 1);
    if (literal.find('%') != std::string_view::npos)
      return std::string{"IPv6 zone identifiers are not allowed in URLs"};
    auto ip = literal.find(':') == std::string_view::npos ? std::nullopt
                                                          : parse_ip(literal);
    if (!ip)
      return std::string{"invalid IPv6 address in URL"};
    out.host = to_string(*ip);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return std::string{"invalid text after IPv6 address in URL"};
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    auto host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (host.empty())
      return std::string{"URL has no host"};
    if (host.find('%') != std::string_view::npos)
      return std::string{"invalid character in host name"};
    out.host = lowercase(host);
    if (auto ip = parse_ip(out.host)) {
      out.host = to_string(*ip);
    } else {
      auto error = check_host_name(out.host);
      if (!error.empty())
        return error;
    }
  }
  if (has_port) {
    auto port = parse_port(port_text);
    if (!port)
      return std::string{"URL port must be a number from 1 to 65535"};
    out.port = *port;
  } else {
    out.port = out.scheme == "https" ? 443 : 80;
  }
  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  out.base_path = std::string{path};
  return out;
}

bool is_non_public_address(const ip_address& ip) {
  if (!ip.v6)
    return in_any(non_public_v4(), ip);
  if (auto v4 = embedded_v4(ip))
    return in_any(non_public_v4(), *v4);
  return !cidr_contains(global_unicast_v6(), ip);
}

std::optional<private_allowance>
parse_private_allowance(std::string_view setting) {
  setting = trim(setting);
  private_allowance allow;
  if (setting.empty())
    return allow;
  if (lowercase(setting) == "all") {
    allow.all = true;
    return allow;
  }
  auto nets = parse_cidr_list(setting);
  if (!nets)
    return std::nullopt;
  allow.nets = std::move(*nets);
  return allow;
}

bool address_allowed(const ip_address& ip, const private_allowance& allow) {
  if (allow.all || !is_non_public_address(ip))
    return true;
  if (in_any(allow.nets, ip))
    return true;
  // A mapped address reaches the IPv4 host: IPv4 networks apply.
  if (ip.v6
      && starts_with_bytes(ip, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}))
    return in_any(allow.nets, v4_from(ip, 12));
  return false;
}

bool is_metadata_hostname(std::string_view host) {
  auto name = lowercase(host);
  if (!name.empty() && name.back() == '.')
    name.pop_back();
  static const std::array<std::string_view, 5> names
    = {"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
       "instance-data.ec2.internal"};
  return std::find(names.begin(), names.end(), name) != names.end();
}

} // namespace gatehouse::policy
