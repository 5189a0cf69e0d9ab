#include "http/proxy_cache.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "policy/json_parse.hpp"
#include "policy/validate.hpp"

namespace gatehouse::http {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i]))
        != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

} // namespace

policy::outcome<int> cache_header(const http_request& req) {
  auto h = req.header("x-gatehouse-cache");
  if (!h)
    return 0;
  auto v = policy::trim(*h);
  if (iequal(v, "on"))
    return 1;
  if (iequal(v, "off"))
    return 2;
  return policy::make_problem(policy::errc::invalid_request,
                              "header 'X-Gatehouse-Cache': must be 'on' or "
                              "'off'");
}

policy::outcome<int> cache_ttl_header(const http_request& req) {
  auto h = req.header("x-gatehouse-cache-ttl");
  if (!h)
    return 0;
  auto v = policy::trim(*h);
  long long n = 0;
  bool ok = !v.empty() && v.size() <= 9;
  for (char c : v) {
    ok = ok && c >= '0' && c <= '9';
    n = n * 10 + (c - '0');
  }
  if (!ok || n < 1 || n > max_cache_ttl_s)
    return policy::make_problem(policy::errc::invalid_request,
                                "header 'X-Gatehouse-Cache-TTL': must be "
                                "whole seconds from 1 to "
                                  + std::to_string(max_cache_ttl_s));
  return static_cast<int>(n);
}

std::optional<std::string>
canonical_body(const std::string& body,
               const std::optional<std::string>& model, int max_depth) {
  nlohmann::json j;
  if (policy::parse_json(body, max_depth, j) != policy::json_fault::none
      || !j.is_object())
    return std::nullopt;
  if (model)
    j["model"] = *model;
  // Objects are ordered maps: members come out sorted.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::shared_ptr<const cached_answer> answer_to_keep(const http_response& res) {
  auto a = std::make_shared<cached_answer>();
  a->status = res.status;
  a->content_type = res.content_type;
  a->body = res.body;
  for (auto& h : res.headers)
    if (h.first.size() < 12 || !iequal(h.first.substr(0, 12), "x-gatehouse-"))
      a->headers.push_back(h);
  return a;
}

http_response replay(const cached_answer& a) {
  http_response res;
  res.status = a.status;
  res.content_type = a.content_type;
  res.headers = a.headers;
  res.body = a.body;
  return res;
}

} // namespace gatehouse::http
