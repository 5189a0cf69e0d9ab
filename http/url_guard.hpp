#pragma once

#include <optional>
#include <string>

#include "policy/ssrf.hpp"

namespace gatehouse::http {

/// Why a URL Gatehouse is to call (a provider's base URL, a webhook) is
/// refused, or nullopt: at most 2048 bytes, no spaces or control bytes,
/// http or https without user information, query or fragment, and a host
/// that is, or resolves to, a loopback, private, link-local or metadata
/// address only when the operator's `allow` permits it. An unresolvable
/// name passes: the guard runs again when connecting.
std::optional<std::string>
upstream_url_refusal(const std::string& url,
                     const policy::private_allowance& allow);

} // namespace gatehouse::http
