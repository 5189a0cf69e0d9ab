#include "http/url_guard.hpp"

#include <memory>

#include <netdb.h>
#include <sys/socket.h>

#include "policy/net.hpp"
#include "policy/text.hpp"

namespace gatehouse::http {

std::optional<std::string>
upstream_url_refusal(const std::string& url,
                     const policy::private_allowance& allow) {
  if (url.size() > 2048)
    return "must be at most 2048 bytes";
  if (policy::has_control_bytes(url) || url.find(' ') != std::string::npos)
    return "must not contain spaces or control characters";
  auto parsed = policy::parse_base_url(url);
  if (auto* err = std::get_if<std::string>(&parsed))
    return *err;
  auto& u = std::get<policy::upstream_url>(parsed);
  if (policy::is_metadata_hostname(u.host) && !allow.all)
    return "metadata service addresses are not allowed";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(u.host.c_str(), nullptr, &hints, &res) != 0)
    return std::nullopt;
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard{res, freeaddrinfo};
  for (auto* a = res; a; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0,
                    NI_NUMERICHOST)
        != 0)
      continue;
    auto ip = policy::parse_ip(text);
    if (ip && !policy::address_allowed(*ip, allow))
      return "'" + u.host
             + "' is a loopback, private, link-local or metadata address; "
               "the operator must allow it";
  }
  return std::nullopt;
}

} // namespace gatehouse::http
