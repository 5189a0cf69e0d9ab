// The response cache of the caller's organization.

#include <nlohmann/json.hpp>

#include "http/api_error.hpp"
#include "http/handlers.hpp"

namespace gatehouse::http {

http_response handle_cache_delete(request_context& ctx) {
  // Filled in with the response cache.
  (void)ctx;
  return json_response(200, {{"deleted", 0}});
}

} // namespace gatehouse::http
