#include "http/query_params.hpp"

#include "http/api_error.hpp"
#include "policy/time.hpp"
#include "policy/validate.hpp"

namespace gatehouse::http {

namespace {

constexpr int default_page = 50;
constexpr int max_page = 500;

} // namespace

void bad_query(std::string_view name, std::string_view why) {
  throw api_error(policy::errc::invalid_request,
                  "query parameter '" + std::string{name}
                    + "': " + std::string{why});
}

std::optional<std::string> query_text(const http_request& req,
                                      std::string_view name) {
  auto v = req.query_param(name);
  if (!v)
    return std::nullopt;
  return std::string{*v};
}

std::optional<std::string> query_uuid(const http_request& req,
                                      std::string_view name) {
  auto v = query_text(req, name);
  if (v && !policy::is_uuid(*v))
    bad_query(name, "must be a UUID");
  return v;
}

std::optional<std::string> query_time(const http_request& req,
                                      std::string_view name) {
  auto v = query_text(req, name);
  if (v && !policy::parse_rfc3339(*v))
    bad_query(name, "must be an RFC 3339 timestamp");
  return v;
}

int query_int(const http_request& req, std::string_view name, int min,
              int max, int fallback) {
  auto v = req.query_param(name);
  if (!v)
    return fallback;
  if (v->empty() || v->size() > 9)
    bad_query(name, "must be an integer");
  int out = 0;
  for (char c : *v) {
    if (c < '0' || c > '9')
      bad_query(name, "must be an integer");
    out = out * 10 + (c - '0');
  }
  if (out < min || out > max)
    bad_query(name, "must be between " + std::to_string(min) + " and "
                      + std::to_string(max));
  return out;
}

int query_page_size(const http_request& req) {
  return query_int(req, "limit", 1, max_page, default_page);
}

} // namespace gatehouse::http
