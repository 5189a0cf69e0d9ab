// The audit log.

#include <nlohmann/json.hpp>

#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/query_params.hpp"
#include "policy/time.hpp"
#include "storage/database.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;
using policy::errc;

json parsed(const std::optional<std::string>& text) {
  if (!text)
    return nullptr;
  auto j = json::parse(*text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

} // namespace

http_response handle_audit(request_context& ctx) {
  auto& q = ctx.req;
  storage::audit_filter f;
  f.actor_id = query_text(q, "actor_id");
  f.action = query_text(q, "action");
  f.target_type = query_text(q, "target_type");
  f.target_id = query_text(q, "target_id");
  f.from = query_time(q, "from");
  f.to = query_time(q, "to");
  auto limit = query_page_size(q);
  storage::audit_page page;
  try {
    page = ctx.db().query_audit(ctx.org->id, f, query_text(q, "cursor"), limit);
  } catch (const storage::bad_cursor&) {
    bad_query("cursor", "is not a cursor this API returned");
  }
  json entries = json::array();
  for (auto& a : page.entries)
    entries.push_back({{"id", a.id},
                       {"actor_type", a.actor_type},
                       {"actor_id", a.actor_id},
                       {"action", a.action},
                       {"target_type", a.target_type},
                       {"target_id", a.target_id},
                       {"before", parsed(a.before_json)},
                       {"after", parsed(a.after_json)},
                       {"ip", a.ip},
                       {"created_at", a.created_at}});
  return json_response(200, {{"entries", entries},
                             {"next_cursor", page.next_cursor
                                               ? json(*page.next_cursor)
                                               : json(nullptr)}});
}

} // namespace gatehouse::http
