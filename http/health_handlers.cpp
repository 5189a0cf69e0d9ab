// Liveness and readiness.

#include <nlohmann/json.hpp>

#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

http_response handle_healthz(request_context&) {
  return json_response(200, {{"status", "ok"}});
}

http_response handle_readyz(request_context& ctx) {
  // Migrations ran before the listener opened; storage must answer now.
  if (!ctx.db().ping())
    return json_response(503, {{"status", "unavailable"}});
  return json_response(200, {{"status", "ready"}});
}

} // namespace gatehouse::http
