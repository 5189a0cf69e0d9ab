#pragma once

#include <string>

#include "http/context.hpp"
#include "http/routes.hpp"

namespace gatehouse::http {

/// The client address: the peer, or the `X-Forwarded-For` entry a trusted
/// proxy vouches for.
std::string client_ip(const http_request& req, const services& svc);

/// Enforces the route's row of the table on `ctx`: credential kind, member
/// status, permission, plan feature and plan-gated body options, plus the
/// signup/login limiter. Fills the caller into `ctx`; throws `api_error`.
void enforce_route(const route& r, request_context& ctx);

} // namespace gatehouse::http
