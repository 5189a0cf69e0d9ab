#include "policy/key_rate_limit.hpp"

#include <algorithm>

namespace gatehouse::policy {

namespace {

// Milliseconds per minute; also the level units one request adds.
constexpr long long request_units = 60'000;

} // namespace

long long gcra_limiter::drained(const bucket& b, long long now_ms) {
  if (now_ms <= b.last_ms)
    return b.level;
  long long elapsed = now_ms - b.last_ms;
  // Compared by division first: rpm * elapsed may overflow after a long
  // idle time.
  if (elapsed >= (b.level + b.rpm - 1) / b.rpm)
    return 0;
  return b.level - b.rpm * elapsed;
}

gcra_limiter::decision gcra_limiter::hit(const std::string& key, int rpm,
                                         long long now_ms) {
  if (rpm <= 0)
    return {false, request_units};
  long long r = rpm;
  long long capacity = request_units * r;
  auto [it, fresh] = keys_.try_emplace(key, bucket{0, now_ms, r});
  auto& b = it->second;
  if (!fresh) {
    // Bring the bucket to now under the limit that applied since the last
    // hit, then under the current one: a lowered limit leaves at most one
    // full minute owed. This changes what the key owes, not what it used.
    b.level = std::min(drained(b, now_ms), capacity);
    b.last_ms = std::max(b.last_ms, now_ms);
    b.rpm = r;
  }
  if (b.level + request_units > capacity) {
    // Allowed once the level has drained to capacity - request_units.
    long long excess = b.level + request_units - capacity;
    return {false, std::max<long long>(1, (excess + r - 1) / r)};
  }
  b.level += request_units;
  return {true, 0};
}

void gcra_limiter::prune(long long now_ms) {
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (drained(it->second, now_ms) == 0)
      it = keys_.erase(it);
    else
      ++it;
  }
}

} // namespace gatehouse::policy
