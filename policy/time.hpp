#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// Formats Unix seconds as an RFC 3339 UTC timestamp,
/// e.g. "2026-11-23T13:16:20Z".
std::string rfc3339(long long unix_s);

/// Formats a Unix time in milliseconds as RFC 3339 UTC with milliseconds,
/// e.g. "2026-11-23T13:16:20.042Z"; such strings sort in time order.
std::string rfc3339_ms(long long unix_ms);

/// Parses an RFC 3339 timestamp "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|
/// -HH:MM)" into Unix seconds; the fraction is truncated. 'T' and 'Z' may be
/// lowercase. Returns nullopt on any malformed or out-of-range field.
std::optional<long long> parse_rfc3339(std::string_view text);

/// Returns the Unix seconds at which the UTC calendar month containing
/// `unix_s` began.
long long utc_month_start(long long unix_s);

/// Returns the seconds from `unix_s` to the start of the next UTC calendar
/// month (always >= 1).
long long seconds_to_next_utc_month(long long unix_s);

} // namespace gatehouse::policy
