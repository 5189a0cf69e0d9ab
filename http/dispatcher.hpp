#pragma once

#include <functional>

#include "http/message.hpp"
#include "http/routes.hpp"
#include "http/services.hpp"

namespace gatehouse::storage {
class connection_pool;
} // namespace gatehouse::storage

namespace gatehouse::http {

class worker_pool;

/// Routes each request: refuses keys in the query string, answers unknown
/// routes, and runs everything else (middleware, then handler) on the worker
/// pool with a pooled storage connection.
class dispatcher {
public:
  dispatcher(services& svc, storage::connection_pool& pool,
             worker_pool& workers);

  /// Answers `req` by calling `done` exactly once, possibly on another
  /// thread.
  void dispatch(http_request req, std::function<void(http_response)> done);

private:
  http_response run(const route_match& m, const http_request& req);

  services& svc_;
  storage::connection_pool& pool_;
  worker_pool& workers_;
};

} // namespace gatehouse::http
