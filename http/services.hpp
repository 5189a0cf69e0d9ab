#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "config/settings.hpp"
#include "policy/net.hpp"
#include "storage/secrets.hpp"

namespace gatehouse::actors {
class gateway;
} // namespace gatehouse::actors

namespace gatehouse::http {

class response_cache;

/// Everything a handler may use besides its request and its store.
struct services {
  const config::settings& cfg;
  storage::secrets secrets;
  actors::gateway& gw;
  std::vector<policy::cidr> trusted_proxies;
  /// Wall-clock time in milliseconds since the epoch.
  std::function<long long()> now_ms;
  /// The response cache of the node; made by the proxy when it starts.
  std::shared_ptr<response_cache> cache;
};

} // namespace gatehouse::http
