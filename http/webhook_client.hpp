#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "actors/webhook_worker.hpp"
#include "policy/ssrf.hpp"

namespace gatehouse::http {

/// The webhook deliveries' HTTP client: one POST per call on a private
/// event loop, connecting only to addresses `allow` permits (checked after
/// resolving, at each delivery), TLS verified against the system's CA
/// store, the whole exchange within `timeout`.
actors::webhook_poster make_webhook_poster(policy::private_allowance allow,
                                           std::chrono::seconds timeout);

} // namespace gatehouse::http
