// The price table: built-in defaults and the org's overrides.

#include <cmath>

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "http/api_error.hpp"
#include "http/handlers.hpp"
#include "http/json_fields.hpp"
#include "policy/pricing.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using nlohmann::json;

/// Highest price accepted, in USD per million tokens.
constexpr double max_price_per_mtok = 1'000'000.0;

json price_json(long long in, long long out, const char* source) {
  return {{"input_per_mtok", policy::micros_to_usd(in)},
          {"output_per_mtok", policy::micros_to_usd(out)},
          {"source", source}};
}

json effective_prices(request_context& ctx) {
  json models = json::object();
  for (auto& [model, p] : policy::builtin_prices())
    models[model] = price_json(p.input_micros_per_mtok,
                               p.output_micros_per_mtok, "builtin");
  for (auto& o : ctx.db().list_price_overrides(ctx.org->id))
    models[o.model] = price_json(o.input_micros_per_mtok,
                                 o.output_micros_per_mtok, "override");
  return {{"models", models}};
}

long long price_field(const json_fields& f, std::string_view name) {
  auto& v = f.get(name);
  if (v.is_null())
    f.fail(name, "is required");
  if (!v.is_number())
    f.fail(name, "must be a number of USD per million tokens");
  auto usd = v.get<double>();
  auto micros = usd <= max_price_per_mtok
                  ? policy::per_mtok_usd_to_micros(usd)
                  : std::nullopt;
  if (!micros)
    f.fail(name, "must be between 0 and 1000000");
  return *micros;
}

} // namespace

http_response handle_pricing_get(request_context& ctx) {
  return json_response(200, effective_prices(ctx));
}

http_response handle_pricing_put(request_context& ctx) {
  json_fields f{ctx.body, {"models"}};
  auto& models = f.get("models");
  if (!models.is_object())
    f.fail("models", "must be an object of model name to prices");
  std::vector<storage::price_override> prices;
  for (auto& [model, p] : models.items()) {
    if (model.empty() || model.size() > 128)
      f.fail("models", "model names must be 1..128 characters");
    json_fields pf{p, {"input_per_mtok", "output_per_mtok"},
                   "models." + model + "."};
    prices.push_back(storage::price_override{
      model, price_field(pf, "input_per_mtok"),
      price_field(pf, "output_per_mtok")});
  }
  unwrap(ctx.svc.gw.set_pricing(ctx.org->id, std::move(prices), ctx.who()));
  return json_response(200, effective_prices(ctx));
}

} // namespace gatehouse::http
