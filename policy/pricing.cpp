#include "policy/pricing.hpp"

#include <cmath>
#include <limits>

namespace gatehouse::policy {

namespace {

constexpr double max_usd = 1e9;
constexpr long long micros_per_usd = 1000000;
constexpr long long tokens_per_mtok = 1000000;

// Returns the key of `table` that is the longest proper "key-" prefix of
// `model`, or nullptr.
const std::string*
longest_prefix(const std::map<std::string, model_price>& table,
               std::string_view model) {
  const std::string* best = nullptr;
  for (const auto& [key, price] : table) {
    if (key.size() < model.size() && model[key.size()] == '-'
        && model.substr(0, key.size()) == key
        && (!best || key.size() > best->size()))
      best = &key;
  }
  return best;
}

} // namespace

const std::map<std::string, model_price>& builtin_prices() {
  // Micro-dollars per million tokens: 2'500'000 is $2.50.
  static const std::map<std::string, model_price> prices = {
    // OpenAI (https://openai.com/api/pricing).
    {"gpt-4o", model_price{2'500'000, 10'000'000}},
    {"gpt-4o-2024-05-13", model_price{5'000'000, 15'000'000}},
    {"gpt-4o-mini", model_price{150'000, 600'000}},
    {"chatgpt-4o-latest", model_price{5'000'000, 15'000'000}},
    {"gpt-4.1", model_price{2'000'000, 8'000'000}},
    {"gpt-4.1-mini", model_price{400'000, 1'600'000}},
    {"gpt-4.1-nano", model_price{100'000, 400'000}},
    {"o1", model_price{15'000'000, 60'000'000}},
    {"o1-preview", model_price{15'000'000, 60'000'000}},
    {"o1-mini", model_price{1'100'000, 4'400'000}},
    {"o3", model_price{2'000'000, 8'000'000}},
    {"o3-mini", model_price{1'100'000, 4'400'000}},
    {"o4-mini", model_price{1'100'000, 4'400'000}},
    {"gpt-4-turbo", model_price{10'000'000, 30'000'000}},
    {"gpt-4-0125-preview", model_price{10'000'000, 30'000'000}},
    {"gpt-4-1106-preview", model_price{10'000'000, 30'000'000}},
    {"gpt-4", model_price{30'000'000, 60'000'000}},
    {"gpt-3.5-turbo", model_price{500'000, 1'500'000}},
    {"text-embedding-3-small", model_price{20'000, 0}},
    {"text-embedding-3-large", model_price{130'000, 0}},
    {"text-embedding-ada-002", model_price{100'000, 0}},
    // Anthropic (https://www.anthropic.com/pricing).
    {"claude-opus-4", model_price{15'000'000, 75'000'000}},
    {"claude-sonnet-4", model_price{3'000'000, 15'000'000}},
    {"claude-3-7-sonnet", model_price{3'000'000, 15'000'000}},
    {"claude-3-5-sonnet", model_price{3'000'000, 15'000'000}},
    {"claude-3-5-haiku", model_price{800'000, 4'000'000}},
    {"claude-3-opus", model_price{15'000'000, 75'000'000}},
    {"claude-3-sonnet", model_price{3'000'000, 15'000'000}},
    {"claude-3-haiku", model_price{250'000, 1'250'000}},
  };
  return prices;
}

std::optional<model_price>
find_price(const std::map<std::string, model_price>& overrides,
           std::string_view model) {
  const std::string key{model};
  if (auto it = overrides.find(key); it != overrides.end())
    return it->second;
  const auto& builtin = builtin_prices();
  if (auto it = builtin.find(key); it != builtin.end())
    return it->second;
  const auto* from_overrides = longest_prefix(overrides, model);
  const auto* from_builtin = longest_prefix(builtin, model);
  if (from_overrides
      && (!from_builtin || from_overrides->size() >= from_builtin->size()))
    return overrides.at(*from_overrides);
  if (from_builtin)
    return builtin.at(*from_builtin);
  return std::nullopt;
}

long long cost_micros(const model_price& price, long long input_tokens,
                      long long output_tokens) {
  auto non_negative = [](long long v) -> __int128 { return v > 0 ? v : 0; };
  // Each product is below 2^126, so the sum cannot overflow.
  __int128 total
    = non_negative(input_tokens) * non_negative(price.input_micros_per_mtok)
      + non_negative(output_tokens)
          * non_negative(price.output_micros_per_mtok);
  __int128 rounded = (total + tokens_per_mtok / 2) / tokens_per_mtok;
  if (rounded > std::numeric_limits<long long>::max())
    return std::numeric_limits<long long>::max();
  return static_cast<long long>(rounded);
}

std::optional<long long> usd_to_micros(double usd) {
  // Written so that NaN fails the test.
  if (!(usd >= 0.0 && usd <= max_usd))
    return std::nullopt;
  return std::llround(usd * static_cast<double>(micros_per_usd));
}

double micros_to_usd(long long micros) {
  return static_cast<double>(micros) / static_cast<double>(micros_per_usd);
}

std::optional<long long> per_mtok_usd_to_micros(double usd_per_mtok) {
  return usd_to_micros(usd_per_mtok);
}

} // namespace gatehouse::policy
