#include "policy/key_rate_limit.hpp"

#include <algorithm>

namespace gatehouse::policy {

gcra_limiter::decision gcra_limiter::hit(const std::string& key, int rpm,
                                         long long now_ms) {
  if (rpm <= 0)
    return {false, gcra::request_units};
  long long r = rpm;
  auto [it, fresh] = keys_.try_emplace(key, bucket{0, now_ms, r});
  auto& b = it->second;
  if (!fresh) {
    // Bring the bucket to now under the limit that applied since the last
    // hit, then under the current one: a lowered limit leaves at most one
    // full minute owed. This changes what the key owes, not what it used.
    b.level = std::min<long long>(gcra::drained(b.level, b.last_ms, b.rpm, now_ms),
                       gcra::request_units * r);
    b.last_ms = std::max(b.last_ms, now_ms);
    b.rpm = r;
  }
  auto s = gcra::admit(b.level, r);
  b.level = s.state;
  return {s.allowed, s.retry_after_ms};
}

void gcra_limiter::prune(long long now_ms) {
  for (auto it = keys_.begin(); it != keys_.end();) {
    auto& b = it->second;
    if (gcra::drained(b.level, b.last_ms, b.rpm, now_ms) == 0)
      it = keys_.erase(it);
    else
      ++it;
  }
}

} // namespace gatehouse::policy
