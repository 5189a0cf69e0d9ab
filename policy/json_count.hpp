#pragma once

#include <optional>

#include <nlohmann/json.hpp>

namespace gatehouse::policy {

/// The non-negative integer at `obj[key]`, if present and representable;
/// with `allow_integral_float`, also a float with no fractional part.
std::optional<long long> json_count(const nlohmann::json& obj, const char* key,
                                    bool allow_integral_float);

} // namespace gatehouse::policy
