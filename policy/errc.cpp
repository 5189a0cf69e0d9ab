#include "policy/errc.hpp"

#include <utility>

namespace gatehouse::policy {

std::string_view to_string(errc code) {
  switch (code) {
    case errc::invalid_request:
      return "invalid_request";
    case errc::immutable_field:
      return "immutable_field";
    case errc::provider_required:
      return "provider_required";
    case errc::unauthorized:
      return "unauthorized";
    case errc::invalid_credentials:
      return "invalid_credentials";
    case errc::key_in_query:
      return "key_in_query";
    case errc::forbidden:
      return "forbidden";
    case errc::user_suspended:
      return "user_suspended";
    case errc::scope_denied:
      return "scope_denied";
    case errc::plan_required:
      return "plan_required";
    case errc::limit_exceeded:
      return "limit_exceeded";
    case errc::app_inactive:
      return "app_inactive";
    case errc::not_found:
      return "not_found";
    case errc::conflict:
      return "conflict";
    case errc::payload_too_large:
      return "payload_too_large";
    case errc::rate_limited:
      return "rate_limited";
    case errc::budget_exceeded:
      return "budget_exceeded";
    case errc::upstream_error:
      return "upstream_error";
    case errc::upstream_timeout:
      return "upstream_timeout";
    case errc::guardrail_blocked:
      return "guardrail_blocked";
    case errc::overloaded:
      return "overloaded";
    case errc::internal_error:
      return "internal";
  }
  return "internal";
}

int http_status(errc code) {
  switch (code) {
    case errc::invalid_request:
    case errc::immutable_field:
    case errc::provider_required:
    case errc::guardrail_blocked:
      return 400;
    case errc::unauthorized:
    case errc::invalid_credentials:
    case errc::key_in_query:
      return 401;
    case errc::forbidden:
    case errc::user_suspended:
    case errc::scope_denied:
    case errc::plan_required:
    case errc::limit_exceeded:
    case errc::app_inactive:
      return 403;
    case errc::not_found:
      return 404;
    case errc::conflict:
      return 409;
    case errc::payload_too_large:
      return 413;
    case errc::rate_limited:
    case errc::budget_exceeded:
      return 429;
    case errc::upstream_error:
      return 502;
    case errc::upstream_timeout:
      return 504;
    case errc::overloaded:
      return 503;
    case errc::internal_error:
      return 500;
  }
  return 500;
}

log_level level_of(errc code) {
  if (http_status(code) >= 500)
    return log_level::error;
  switch (code) {
    // Routine outcomes that a busy gateway sees constantly: logging them at
    // info would drown the useful lines.
    case errc::not_found:
    case errc::invalid_request:
      return log_level::debug;
    default:
      return log_level::info;
  }
}

problem make_problem(errc code, std::string msg) {
  return problem{code, std::move(msg), std::nullopt};
}

} // namespace gatehouse::policy
