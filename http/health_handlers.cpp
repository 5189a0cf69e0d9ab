// Liveness and readiness.

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
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
  // A cluster member serves once it has joined (or waited long enough
  // alone).
  if (!ctx.svc.gw.cluster().joined())
    return json_response(503, {{"status", "joining"}});
  return json_response(200, {{"status", "ready"}});
}

} // namespace gatehouse::http
