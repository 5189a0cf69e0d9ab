#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// The price of a model in USD micro-dollars per million tokens ($0.15 per
/// million tokens = 150000).
struct model_price {
  /// Price of a million input (prompt) tokens.
  long long input_micros_per_mtok = 0;
  /// Price of a million output (completion) tokens.
  long long output_micros_per_mtok = 0;
};

/// Built-in default prices of well-known OpenAI and Anthropic models,
/// keyed by model name without date suffix. They are the providers'
/// public list prices for standard (non-batch, uncached) usage at the time
/// of writing; an organization overrides or extends them with its own
/// table (`PUT /api/v1/pricing`), which is also the way to follow price
/// changes.
const std::map<std::string, model_price>& builtin_prices();

/// Finds the price of `model`: an exact match in `overrides`, else an exact
/// built-in, else the longest key of either table (an override wins a tie)
/// such that `model` is that key followed by '-' and more (dated or
/// suffixed versions: "gpt-4o-mini-2024-07-18" -> "gpt-4o-mini"), else
/// nullopt.
std::optional<model_price>
find_price(const std::map<std::string, model_price>& overrides,
           std::string_view model);

/// The cost in micro-dollars of `input_tokens` and `output_tokens` at
/// `price`, rounded to the nearest micro-dollar (halves up). Negative
/// counts or prices count as 0; a result beyond the range of `long long`
/// saturates.
long long cost_micros(const model_price& price, long long input_tokens,
                      long long output_tokens);

/// Converts an amount of USD to micro-dollars, rounded to the nearest one.
/// Rejects negative amounts, NaN, infinities and amounts above 1e9 USD.
std::optional<long long> usd_to_micros(double usd);

/// Converts micro-dollars to USD for JSON output: `micros / 1e6`, which
/// prints with at most 6 decimals.
double micros_to_usd(long long micros);

/// Converts a price in USD per million tokens to micro-dollars per million
/// tokens, with the same rounding and limits as `usd_to_micros`.
std::optional<long long> per_mtok_usd_to_micros(double usd_per_mtok);

} // namespace gatehouse::policy
