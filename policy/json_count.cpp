#include "policy/json_count.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

namespace gatehouse::policy {

std::optional<long long> json_count(const nlohmann::json& obj, const char* key,
                                    bool allow_integral_float) {
  auto it = obj.find(key);
  if (it == obj.end())
    return std::nullopt;
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<long long>::max()))
      return std::nullopt;
    return static_cast<long long>(v);
  }
  if (it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    if (v < 0)
      return std::nullopt;
    return static_cast<long long>(v);
  }
  if (allow_integral_float && it->is_number_float()) {
    double v = it->get<double>();
    if (!std::isfinite(v) || v < 0 || v >= 9.0e18 || std::floor(v) != v)
      return std::nullopt;
    return static_cast<long long>(v);
  }
  return std::nullopt;
}

} // namespace gatehouse::policy
