// The response cache of the caller's organization.

#include <nlohmann/json.hpp>

#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "actors/audit.hpp"
#include "http/response_cache.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

http_response handle_cache_delete(request_context& ctx) {
  std::size_t n = ctx.svc.cache ? ctx.svc.cache->erase_org(ctx.org->id) : 0;
  ctx.db().insert_audit(actors::audit_entry(ctx.org->id, ctx.who(),
                                            "cache.delete", "org",
                                            ctx.org->id, nullptr,
                                            {{"deleted", n}}));
  return json_response(200, {{"deleted", n}});
}

} // namespace gatehouse::http
