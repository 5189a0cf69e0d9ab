// The response cache of the caller's organization.

#include <nlohmann/json.hpp>

#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/response_cache.hpp"
#include "policy/ids.hpp"
#include "policy/time.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

http_response handle_cache_delete(request_context& ctx) {
  std::size_t n = ctx.svc.cache ? ctx.svc.cache->erase_org(ctx.org->id) : 0;
  auto who = ctx.who();
  storage::audit_record a;
  a.id = policy::uuid_v4();
  a.org_id = ctx.org->id;
  a.actor_type = who.actor_type;
  a.actor_id = who.actor_id;
  a.action = "cache.delete";
  a.target_type = "org";
  a.target_id = ctx.org->id;
  a.after_json = nlohmann::json{{"deleted", n}}.dump();
  a.ip = who.ip;
  a.created_at = policy::rfc3339_ms(ctx.now_ms);
  ctx.db().insert_audit(a);
  return json_response(200, {{"deleted", n}});
}

} // namespace gatehouse::http
