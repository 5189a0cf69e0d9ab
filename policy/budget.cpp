#include "policy/budget.hpp"

#include <limits>

#include "policy/time.hpp"

namespace gatehouse::policy {

namespace {

std::int64_t non_negative(std::int64_t v) {
  return v > 0 ? v : 0;
}

// Prompt characters per estimated token.
constexpr std::size_t chars_per_token = 4;

} // namespace

std::int64_t estimate_cost_micros(const std::optional<model_price>& price,
                                  std::size_t prompt_chars,
                                  std::optional<long long> max_tokens) {
  if (!price)
    return 0;
  // Rounds up without risking prompt_chars + 3 wrapping around.
  std::size_t tokens = prompt_chars / chars_per_token
                       + (prompt_chars % chars_per_token != 0 ? 1 : 0);
  constexpr auto max_ll = std::numeric_limits<long long>::max();
  auto input = tokens > static_cast<unsigned long long>(max_ll)
                 ? max_ll
                 : static_cast<long long>(tokens);
  return cost_micros(*price, input, max_tokens.value_or(0));
}

std::optional<budget_view> budget_of(std::optional<std::int64_t> limit_micros,
                                     std::int64_t spent_micros) {
  if (!limit_micros)
    return std::nullopt;
  // Hundredths of a percent, computed exactly: spent * 10000 / limit,
  // rounded half up.
  // Both factors are below 2^63 and 10000 < 2^14, so nothing overflows.
  __int128 hundredths = 10000;
  if (*limit_micros > 0) {
    __int128 num = static_cast<__int128>(non_negative(spent_micros)) * 10000;
    __int128 den = *limit_micros;
    hundredths = (2 * num + den) / (2 * den);
  }
  budget_view v;
  v.used_pct = static_cast<double>(hundredths) / 100.0;
  if (hundredths < 7000)
    v.status = "green";
  else if (hundredths < 9000)
    v.status = "yellow";
  else
    v.status = "red";
  return v;
}

std::string month_of(long long unix_s) {
  // "YYYY-MM-DDTHH:MM:SSZ" without "-DD" and the time of day.
  auto text = rfc3339(unix_s);
  return text.substr(0, text.find('T') - 3);
}

} // namespace gatehouse::policy
