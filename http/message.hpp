#pragma once

// Transport-neutral request and response values. Handlers see only these, so
// they compile without Beast and can be tested without sockets.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// One HTTP request as read from a client.
struct http_request {
  std::string method;     ///< e.g. "GET"
  std::string target;     ///< raw request target, query included
  std::string path;       ///< target without the query
  header_list query;      ///< decoded query parameters, in order
  header_list headers;    ///< header names lower-cased
  std::string body;
  std::string peer_ip;    ///< address of the TCP peer
  std::string request_id; ///< sent back as X-Gatehouse-Request-Id

  /// First header named `name` (lower-case), if any.
  std::optional<std::string_view> header(std::string_view name) const;

  /// First query parameter named `name`, if any.
  std::optional<std::string_view> query_param(std::string_view name) const;
};

/// One HTTP response to write.
struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  header_list headers;
  std::string body;
};

/// Splits a request target into path and decoded query parameters.
void split_target(std::string_view target, std::string& path,
                  header_list& query);

/// Decodes %XX escapes and '+' (as space when `plus_is_space`).
std::string percent_decode(std::string_view in, bool plus_is_space);

} // namespace gatehouse::http
