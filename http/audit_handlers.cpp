// The audit log.

#include <nlohmann/json.hpp>

#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "policy/time.hpp"
#include "storage/database.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;
using policy::errc;

constexpr int default_page = 50;
constexpr int max_page = 500;

[[noreturn]] void bad_param(std::string_view name, std::string_view why) {
  throw api_error(errc::invalid_request, "query parameter '"
                                           + std::string{name}
                                           + "': " + std::string{why});
}

json parsed(const std::optional<std::string>& text) {
  if (!text)
    return nullptr;
  auto j = json::parse(*text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

} // namespace

http_response handle_audit(request_context& ctx) {
  storage::audit_filter f;
  auto text = [&](std::string_view name) -> std::optional<std::string> {
    auto v = ctx.req.query_param(name);
    return v ? std::optional<std::string>{std::string{*v}} : std::nullopt;
  };
  f.actor_id = text("actor_id");
  f.action = text("action");
  f.target_type = text("target_type");
  f.target_id = text("target_id");
  for (auto name : {"from", "to"})
    if (auto v = text(name); v && !policy::parse_rfc3339(*v))
      bad_param(name, "must be an RFC 3339 timestamp");
  f.from = text("from");
  f.to = text("to");
  int limit = default_page;
  if (auto v = text("limit")) {
    char* end = nullptr;
    auto n = std::strtol(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || n < 1 || n > max_page)
      bad_param("limit", "must be an integer between 1 and 500");
    limit = static_cast<int>(n);
  }
  storage::audit_page page;
  try {
    page = ctx.db().query_audit(ctx.org->id, f, text("cursor"), limit);
  } catch (const storage::bad_cursor&) {
    bad_param("cursor", "is not a cursor this API returned");
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
