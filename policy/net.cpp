#include "policy/net.hpp"

#include "policy/validate.hpp"

#include <algorithm>

#include <arpa/inet.h>

namespace gatehouse::policy {

namespace {

constexpr std::array<unsigned char, 12> v4_mapped_prefix
  = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool in_any(const std::vector<cidr>& nets, const ip_address& ip) {
  for (const auto& net : nets)
    if (cidr_contains(net, ip))
      return true;
  return false;
}

// Strips what proxies sometimes add around an address in X-Forwarded-For:
// "[v6]:port", "[v6]" and "v4:port".
std::string_view strip_forwarded_port(std::string_view entry) {
  if (!entry.empty() && entry.front() == '[') {
    auto close = entry.find(']');
    if (close != std::string_view::npos)
      return entry.substr(1, close - 1);
    return entry;
  }
  auto colon = entry.find(':');
  if (colon != std::string_view::npos
      && entry.find(':', colon + 1) == std::string_view::npos)
    return entry.substr(0, colon);
  return entry;
}

bool parse_prefix(std::string_view text, int max, int& out) {
  if (text.empty() || text.size() > 3)
    return false;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (c - '0');
  }
  if (v > max)
    return false;
  out = v;
  return true;
}

} // namespace

std::optional<ip_address> parse_ip(std::string_view text) {
  auto zone = text.find('%');
  if (zone != std::string_view::npos)
    text = text.substr(0, zone);
  // inet_pton reads up to a NUL: "1.2.3.4\0junk" must not pass as 1.2.3.4.
  if (text.empty() || text.size() > 45
      || text.find('\0') != std::string_view::npos)
    return std::nullopt;
  std::string buf{text};
  ip_address ip;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf.c_str(), ip.bytes.data()) != 1)
      return std::nullopt;
    return ip;
  }
  if (inet_pton(AF_INET6, buf.c_str(), ip.bytes.data()) != 1)
    return std::nullopt;
  if (std::equal(v4_mapped_prefix.begin(), v4_mapped_prefix.end(),
                 ip.bytes.begin())) {
    // A dual-stack socket reports IPv4 peers this way; treat them as IPv4.
    ip_address v4;
    std::copy(ip.bytes.begin() + 12, ip.bytes.end(), v4.bytes.begin());
    return v4;
  }
  ip.v6 = true;
  return ip;
}

std::string to_string(const ip_address& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.bytes.data(), buf, sizeof(buf));
  return buf;
}

std::optional<cidr> parse_cidr(std::string_view text) {
  text = trim(text);
  auto slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip || text.find('%') != std::string_view::npos)
    return std::nullopt;
  int max = ip->v6 ? 128 : 32;
  int prefix = max;
  // An IPv4-mapped address (parsed as IPv4) written in IPv6 form takes an
  // IPv6 prefix: ::ffff:10.0.0.0/104 is 10.0.0.0/8. A prefix shorter than
  // the mapped block would reach beyond IPv4 and is refused.
  bool mapped
    = !ip->v6 && text.substr(0, slash).find(':') != std::string_view::npos;
  if (slash != std::string_view::npos) {
    int written = 0;
    if (!parse_prefix(text.substr(slash + 1), mapped ? 128 : max, written)
        || (mapped && written < 96))
      return std::nullopt;
    prefix = mapped ? written - 96 : written;
  }
  cidr net{*ip, prefix};
  for (int bit = prefix; bit < max; ++bit)
    net.network.bytes[bit / 8]
      &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  return net;
}

bool cidr_contains(const cidr& net, const ip_address& ip) {
  if (net.network.v6 != ip.v6)
    return false;
  int full = net.prefix_len / 8;
  for (int i = 0; i < full; ++i)
    if (net.network.bytes[i] != ip.bytes[i])
      return false;
  int rest = net.prefix_len % 8;
  if (rest == 0)
    return true;
  auto mask = static_cast<unsigned char>(0xffu << (8 - rest));
  return (net.network.bytes[full] & mask) == (ip.bytes[full] & mask);
}

bool cidr_contains(const cidr& net, std::string_view ip) {
  auto parsed = parse_ip(trim(ip));
  return parsed && cidr_contains(net, *parsed);
}

std::optional<std::vector<cidr>> parse_cidr_list(std::string_view text) {
  std::vector<cidr> out;
  if (trim(text).empty())
    return out;
  std::size_t start = 0;
  while (true) {
    auto comma = text.find(',', start);
    auto entry = text.substr(start, comma == std::string_view::npos
                                      ? std::string_view::npos
                                      : comma - start);
    auto net = parse_cidr(entry);
    if (!net)
      return std::nullopt;
    out.push_back(*net);
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  return out;
}

std::string resolve_client_ip(std::string_view peer_ip,
                              std::string_view x_forwarded_for,
                              const std::vector<cidr>& trusted) {
  auto peer = parse_ip(trim(peer_ip));
  if (!peer)
    return std::string{trim(peer_ip)};
  if (trim(x_forwarded_for).empty() || !in_any(trusted, *peer))
    return to_string(*peer);
  ip_address nearest = *peer;
  std::size_t end = x_forwarded_for.size();
  while (true) {
    auto comma = x_forwarded_for.rfind(',', end == 0 ? 0 : end - 1);
    bool first = comma == std::string_view::npos || end == 0;
    std::size_t begin = first ? 0 : comma + 1;
    auto entry = trim(x_forwarded_for.substr(begin, end - begin));
    if (!entry.empty()) {
      auto ip = parse_ip(strip_forwarded_port(entry));
      if (!ip)
        return to_string(nearest);
      nearest = *ip;
      if (!in_any(trusted, *ip))
        return to_string(*ip);
    }
    if (first)
      break;
    end = comma;
  }
  return to_string(nearest);
}

} // namespace gatehouse::policy
