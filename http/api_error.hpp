#pragma once

#include <exception>

#include <nlohmann/json_fwd.hpp>

#include "http/message.hpp"
#include "policy/errc.hpp"

namespace gatehouse::http {

/// Thrown by handler helpers to answer with an API error; the dispatcher
/// turns it into the error shape of the API.
struct api_error : std::exception {
  explicit api_error(policy::problem p) : problem(std::move(p)) {}
  api_error(policy::errc code, std::string message)
    : problem(policy::make_problem(code, std::move(message))) {}
  const char* what() const noexcept override {
    return problem.message.c_str();
  }
  policy::problem problem;
};

/// `{"error_code", "message", "error": {code, message, type}}` with the
/// status of the code and `Retry-After` when the problem carries one.
http_response error_response(const policy::problem& p);

/// A JSON answer.
http_response json_response(int status, const nlohmann::json& body);

/// Compact JSON text of `j`; never throws on text that is not UTF-8 (it is
/// replaced).
std::string dump_json(const nlohmann::json& j);

/// Throws `api_error` when `o` holds a problem, else returns its value.
template <class Outcome>
auto unwrap(Outcome&& o) {
  if (!o.ok())
    throw api_error(o.error());
  return std::move(o).value();
}

} // namespace gatehouse::http
