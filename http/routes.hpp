#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"
#include "policy/plan.hpp"
#include "policy/role.hpp"

namespace gatehouse::http {

struct request_context;

/// Which credential a route takes.
enum class credential {
  none,           ///< public
  session,        ///< `Authorization: Bearer <session token>`
  operator_token, ///< `Authorization: Bearer <operator token>`
};

/// A body field that only some plans may set.
struct option_gate {
  const char* pointer; ///< JSON pointer into the body, e.g. "/rate_limit_rpm"
  std::optional<policy::feature> feature; ///< nullopt: enterprise plan only
};

using handler_fn = http_response (*)(request_context&);

/// One row of the route table: everything the middleware enforces before
/// the handler runs.
struct route {
  const char* method;
  const char* pattern; ///< "/api/v1/keys/{id}/rotate"
  credential cred;
  const char* permission; ///< "" when any member may call it
  policy::role min_role;
  std::optional<policy::feature> feature;
  std::vector<option_gate> gates;
  bool auth_limited; ///< counts against the signup/login limiter
  bool inline_ok;    ///< cheap enough to answer on the I/O thread
  handler_fn handler;
};

/// The route table, declared once.
const std::vector<route>& route_table();

/// Result of matching a request against the table.
struct route_match {
  const route* r = nullptr;
  std::map<std::string, std::string> params;
};

/// The route for `method` and `path`, if any.
route_match match_route(std::string_view method, std::string_view path);

/// The permission names a role holds, derived from the route table.
std::vector<std::string> permissions_for(policy::role r);

} // namespace gatehouse::http
