#pragma once

#include <functional>
#include <memory>

#include "http/client_channel.hpp"
#include "http/message.hpp"
#include "http/routes.hpp"
#include "http/services.hpp"

namespace gatehouse::storage {
class connection_pool;
} // namespace gatehouse::storage

namespace gatehouse::http {

class worker_pool;
class proxy;

/// Routes each request: refuses keys in the query string, hands `/v1/*` to
/// the proxy, answers unknown routes, and runs management routes
/// (middleware, then handler) on the worker pool with a pooled storage
/// connection.
class dispatcher {
public:
  dispatcher(services& svc, storage::connection_pool& pool,
             worker_pool& workers, proxy& data_plane);

  /// Answers `req` on `client`, possibly from another thread.
  void dispatch(http_request req, std::shared_ptr<client_channel> client);

private:
  http_response run(const route_match& m, const http_request& req);

  services& svc_;
  storage::connection_pool& pool_;
  worker_pool& workers_;
  proxy& proxy_;
};

} // namespace gatehouse::http
