// The response cache of the caller's organization.

#include <nlohmann/json.hpp>

#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/response_cache.hpp"

namespace gatehouse::http {

http_response handle_cache_delete(request_context& ctx) {
  std::size_t n = ctx.svc.cache ? ctx.svc.cache->erase_org(ctx.org->id) : 0;
  return json_response(200, {{"deleted", n}});
}

} // namespace gatehouse::http
