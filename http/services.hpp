#pragma once

#include <functional>
#include <vector>

#include "config/settings.hpp"
#include "policy/net.hpp"
#include "storage/secrets.hpp"

namespace gatehouse::actors {
class gateway;
} // namespace gatehouse::actors

namespace gatehouse::http {

/// Everything a handler may use besides its request and its store.
struct services {
  const config::settings& cfg;
  storage::secrets secrets;
  actors::gateway& gw;
  std::vector<policy::cidr> trusted_proxies;
  /// Wall-clock time in milliseconds since the epoch.
  std::function<long long()> now_ms;
};

} // namespace gatehouse::http
