#pragma once

// The proxy's side of the response cache: its request headers, the
// canonical body of a key, and answers kept and replayed.

#include <memory>
#include <optional>
#include <string>

#include "http/message.hpp"
#include "http/response_cache.hpp"
#include "policy/outcome.hpp"

namespace gatehouse::http {

/// Longest time-to-live of a cached answer, in seconds (7 days).
constexpr int max_cache_ttl_s = 7 * 24 * 3600;

/// `X-Gatehouse-Cache`: 0 absent, 1 `on`, 2 `off` (case-insensitive); 400
/// `invalid_request` naming the header for another value.
policy::outcome<int> cache_header(const http_request& req);

/// `X-Gatehouse-Cache-TTL`: seconds from 1 to `max_cache_ttl_s`, 0 when
/// absent; 400 `invalid_request` naming the header otherwise.
policy::outcome<int> cache_ttl_header(const http_request& req);

/// The canonical JSON of a request body (members sorted, no whitespace)
/// with `model` set when given; null when the body is not a JSON object.
std::optional<std::string> canonical_body(const std::string& body,
                                          const std::optional<std::string>& model,
                                          int max_depth);

/// A whole answer as the cache keeps it: Gatehouse's own headers left out.
std::shared_ptr<const cached_answer> answer_to_keep(const http_response& res);

/// A cached answer to send again.
http_response replay(const cached_answer& a);

} // namespace gatehouse::http
