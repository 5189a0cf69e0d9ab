#pragma once

// The proxy's shared state, for the .cpp files of the data plane.

#include "http/proxy.hpp"
#include "http/runtime_impl.hpp"
#include "http/upstream.hpp"

namespace gatehouse::http {

/// What every exchange of the proxy shares.
struct proxy::impl {
  services& svc;
  upstream_pool pool;

  impl(services& s, runtime& rt)
    : svc(s),
      pool(rt.get().ioc,
           policy::parse_private_allowance(s.cfg.allow_private_upstreams)
             .value_or(policy::private_allowance{}),
           upstream_timeouts{std::chrono::seconds{10},
                             std::chrono::seconds{s.cfg.upstream_timeout_s}}) {
  }
};

/// Answers GET /v1/models: the models of every provider the key may use,
/// filtered by its model scopes (models.cpp).
void list_models(proxy::impl& px, const http_request& req,
                 std::shared_ptr<client_channel> client, std::string key_hash);

} // namespace gatehouse::http
