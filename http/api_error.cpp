#include "http/api_error.hpp"

#include <nlohmann/json.hpp>

#include "policy/text.hpp"

namespace gatehouse::http {

namespace {

/// Messages may quote what a client sent; they stay readable and short.
constexpr std::size_t max_message_bytes = 1024;

} // namespace

std::string dump_json(const nlohmann::json& j) {
  // Text that is not UTF-8 is replaced rather than thrown about.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

http_response error_response(const policy::problem& p) {
  auto code = std::string{policy::to_string(p.code)};
  auto message = policy::clean_utf8(p.message, max_message_bytes);
  nlohmann::json body = {
    {"error_code", code},
    {"message", message},
    {"error",
     {{"code", code}, {"message", message}, {"type", "gatehouse_error"}}}};
  http_response res;
  res.status = policy::http_status(p.code);
  res.body = dump_json(body);
  if (p.retry_after_s)
    res.headers.emplace_back("Retry-After", std::to_string(*p.retry_after_s));
  return res;
}

http_response json_response(int status, const nlohmann::json& body) {
  http_response res;
  res.status = status;
  res.body = dump_json(body);
  return res;
}

} // namespace gatehouse::http
