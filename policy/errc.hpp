#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// Domain error codes; each maps 1:1 to an `error_code` string of the API.
enum class errc {
  invalid_request,
  immutable_field,
  provider_required,
  unauthorized,
  invalid_credentials,
  key_in_query,
  forbidden,
  user_suspended,
  scope_denied,
  plan_required,
  limit_exceeded,
  app_inactive,
  not_found,
  conflict,
  payload_too_large,
  rate_limited,
  budget_exceeded,
  upstream_error,
  upstream_timeout,
  guardrail_blocked,
  overloaded,
  internal_error,
};

/// Returns the public `error_code` string of `code`.
std::string_view to_string(errc code);

/// Returns the HTTP status that answers `code`.
int http_status(errc code);

/// Severity with which an error is logged.
enum class log_level { debug, info, warn, error };

/// Returns the log level of `code`: server-side failures (5xx) log as
/// errors, client mistakes (4xx) as info or debug.
log_level level_of(errc code);

/// An error ready to be answered: code, human-readable message and, for
/// 429 answers, the number of seconds for `Retry-After`.
struct problem {
  errc code;
  std::string message;
  std::optional<long long> retry_after_s;
};

/// Builds a problem without a retry hint.
problem make_problem(errc code, std::string msg);

} // namespace gatehouse::policy
