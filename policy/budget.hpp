#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "policy/pricing.hpp"

namespace gatehouse::policy {

/// A team's monthly budget at one moment, in USD micro-dollars.
struct budget_state {
  /// The monthly hard cap.
  std::int64_t limit_micros;
  /// What the team has spent so far in the current UTC calendar month.
  std::int64_t spent_micros;
  /// The estimated cost of the team's admitted requests that have not been
  /// settled yet.
  std::int64_t in_flight_micros;
};

/// Whether a request estimated to cost `estimate_micros` may start. A team
/// whose month-to-date spend has reached its limit is refused, whatever the
/// estimate (a limit of 0 admits nothing); otherwise the request is admitted
/// iff spent + in flight + estimate stays within the limit. Negative amounts
/// count as 0 and the sum cannot overflow. Inline: the team ledgers run it
/// inside their compare-and-swap loop on every admission.
constexpr bool admits(const budget_state& b,
                      std::int64_t estimate_micros) noexcept {
  auto spent = b.spent_micros > 0 ? b.spent_micros : 0;
  if (spent >= b.limit_micros)
    return false;
  // 0 <= spent < limit, so the headroom is positive and cannot overflow;
  // comparing against what is left avoids adding up the three amounts.
  auto headroom = b.limit_micros - spent;
  auto in_flight = b.in_flight_micros > 0 ? b.in_flight_micros : 0;
  if (in_flight > headroom)
    return false;
  auto estimate = estimate_micros > 0 ? estimate_micros : 0;
  return estimate <= headroom - in_flight;
}

/// Estimates the cost of a request before it is sent: the prompt counts as
/// ceil(`prompt_chars` / 4) input tokens and `max_tokens`, when given, as
/// that many output tokens (negative counts as 0). An unpriced model (no
/// `price`) is estimated at 0.
std::int64_t estimate_cost_micros(const std::optional<model_price>& price,
                                  std::size_t prompt_chars,
                                  std::optional<long long> max_tokens);

/// How much of a team's budget is used, as shown to dashboards.
struct budget_view {
  /// Spend as a percentage of the limit, rounded to 2 decimals (halves
  /// up); above 100 when the team overspent.
  double used_pct;
  /// "green" below 70, "yellow" from 70 to below 90, "red" from 90 on,
  /// judged on the rounded `used_pct` so that the two always agree.
  std::string status;
};

/// Describes the use of a budget of `limit_micros` after spending
/// `spent_micros` (negative counts as 0); nullopt when there is no limit. A
/// limit of 0 (or below) is fully used: 100 % and red, since nothing may be
/// spent.
std::optional<budget_view> budget_of(std::optional<std::int64_t> limit_micros,
                                     std::int64_t spent_micros);

/// Names the UTC calendar month containing `unix_s` as "YYYY-MM", the
/// prefix of the RFC 3339 timestamps of that month.
std::string month_of(long long unix_s);

} // namespace gatehouse::policy
