#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "actors/webhook_worker.hpp"
#include "policy/ssrf.hpp"

namespace gatehouse::http {

/// Why a webhook URL is refused, or nullopt: the rules of provider base
/// URLs (http or https, no user information, query or fragment; a host
/// that is, or resolves to, a loopback, private, link-local or metadata
/// address needs the operator's `allow`). An unresolvable name passes: the
/// guard runs again at each delivery.
std::optional<std::string>
webhook_url_refusal(const std::string& url,
                    const policy::private_allowance& allow);

/// The webhook deliveries' HTTP client: one POST per call on a private
/// event loop, connecting only to addresses `allow` permits (checked after
/// resolving, at each delivery), TLS verified against the system's CA
/// store, the whole exchange within `timeout`.
actors::webhook_poster make_webhook_poster(policy::private_allowance allow,
                                           std::chrono::seconds timeout);

} // namespace gatehouse::http
