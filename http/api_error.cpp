#include "http/api_error.hpp"

#include <nlohmann/json.hpp>

namespace gatehouse::http {

http_response error_response(const policy::problem& p) {
  auto code = std::string{policy::to_string(p.code)};
  nlohmann::json body = {
    {"error_code", code},
    {"message", p.message},
    {"error",
     {{"code", code}, {"message", p.message}, {"type", "gatehouse_error"}}}};
  http_response res;
  res.status = policy::http_status(p.code);
  res.body = body.dump();
  if (p.retry_after_s)
    res.headers.emplace_back("Retry-After", std::to_string(*p.retry_after_s));
  return res;
}

http_response json_response(int status, const nlohmann::json& body) {
  http_response res;
  res.status = status;
  res.body = body.dump();
  return res;
}

} // namespace gatehouse::http
