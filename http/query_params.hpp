#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace gatehouse::http {

/// Throws 400 `invalid_request` naming query parameter `name`.
[[noreturn]] void bad_query(std::string_view name, std::string_view why);

/// The parameter's text, if given.
std::optional<std::string> query_text(const http_request& req,
                                      std::string_view name);

/// A UUID parameter (400 otherwise), if given.
std::optional<std::string> query_uuid(const http_request& req,
                                      std::string_view name);

/// An RFC 3339 parameter (400 otherwise), as given.
std::optional<std::string> query_time(const http_request& req,
                                      std::string_view name);

/// A decimal integer within [min, max] (400 otherwise), or `fallback`.
int query_int(const http_request& req, std::string_view name, int min,
              int max, int fallback);

/// Page size of a listing: `limit` within 1..500, default 50.
int query_page_size(const http_request& req);

} // namespace gatehouse::http
