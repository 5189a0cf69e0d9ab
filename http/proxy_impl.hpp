#pragma once

// The proxy's shared state, for the .cpp files of the data plane.

#include "http/proxy.hpp"
#include "http/response_cache.hpp"
#include "http/runtime_impl.hpp"
#include "http/upstream.hpp"

namespace gatehouse::http {

/// What every exchange of the proxy shares.
struct proxy::impl {
  services& svc;
  /// One pool per I/O loop: a connection is used by the loop it lives on.
  std::vector<std::unique_ptr<upstream_pool>> pools;

  impl(services& s, runtime& rt) : svc(s) {
    auto allowed =
      policy::parse_private_allowance(s.cfg.allow_private_upstreams)
        .value_or(policy::private_allowance{});
    upstream_timeouts t{std::chrono::seconds{10},
                        std::chrono::seconds{s.cfg.upstream_timeout_s}};
    for (auto& loop : rt.get().loops)
      pools.push_back(std::make_unique<upstream_pool>(*loop, allowed, t));
    if (!s.cache)
      s.cache = std::make_shared<response_cache>(
        static_cast<std::size_t>(s.cfg.cache_mib) << 20);
  }

  /// The pool of the calling I/O thread's loop.
  upstream_pool& pool_here() {
    return *pools[runtime::impl::here() % pools.size()];
  }
};

/// Answers GET /v1/models: the models of every provider the key may use,
/// filtered by its model scopes (models.cpp).
void list_models(proxy::impl& px, const http_request& req,
                 std::shared_ptr<client_channel> client, std::string key_hash);

} // namespace gatehouse::http
