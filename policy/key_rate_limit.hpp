#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace gatehouse::policy {

/// The one GCRA rule of per-key rate limits, as pure functions over plain
/// integers (inline: the data plane runs them in a compare-and-swap loop).
/// A key limited to `rpm` requests a minute may send `rpm` requests at once
/// after being idle, then one every 60000 / `rpm` ms. What a key owes is
/// counted in units of 1/60000 request: each admitted request adds 60000
/// and `rpm` units drain per millisecond, exact for any rpm.
namespace gcra {

/// Units one request adds; also milliseconds per minute.
inline constexpr std::int64_t request_units = 60'000;

/// The outcome of one hit.
struct step {
  bool allowed;
  /// The new state: what the key owes (admit) or when it owes nothing
  /// (hit_due). Unchanged when refused.
  std::int64_t state;
  /// When refused, milliseconds until the same hit would pass (>= 1);
  /// 0 when allowed.
  std::int64_t retry_after_ms;
};

/// Decides a hit of a key that owes `owed` units now (already drained).
/// Refused requests are not counted. An `rpm` of 0 or below refuses with a
/// retry after one minute.
constexpr step admit(std::int64_t owed, std::int64_t rpm) noexcept {
  if (rpm <= 0)
    return {false, owed, request_units};
  const std::int64_t capacity = request_units * rpm;
  if (owed + request_units > capacity) {
    // Allowed once drained to capacity - request_units.
    const std::int64_t excess = owed + request_units - capacity;
    const std::int64_t wait = (excess + rpm - 1) / rpm;
    return {false, owed, wait > 1 ? wait : 1};
  }
  return {true, owed + request_units, 0};
}

/// What a key that owed `owed` units at `last_ms` owes at `now_ms` under
/// `rpm` (> 0); a `now_ms` before `last_ms` counts as `last_ms`. Never
/// overflows, however long the key idled.
constexpr std::int64_t drained(std::int64_t owed, std::int64_t last_ms,
                               std::int64_t rpm, std::int64_t now_ms) noexcept {
  if (now_ms <= last_ms)
    return owed;
  const std::int64_t elapsed = now_ms - last_ms;
  // Compared by division first: rpm * elapsed may overflow.
  if (elapsed >= (owed + rpm - 1) / rpm)
    return 0;
  return owed - rpm * elapsed;
}

/// The same rule over a single integer, for a lock-free cell of a key whose
/// `rpm` does not change: `due` is the instant, in milliseconds times
/// `rpm`, at which the key owes nothing (0 for a fresh key). On success
/// `state` is the new `due`. `now_ms * rpm` must fit in 64 bits (with rpm
/// up to 10^6, until the year 2262).
constexpr step hit_due(std::int64_t due, std::int64_t rpm,
                       std::int64_t now_ms) noexcept {
  if (rpm <= 0)
    return {false, due, request_units};
  const std::int64_t now = now_ms * rpm;
  auto s = admit(due > now ? due - now : 0, rpm);
  if (s.allowed)
    s.state += now;
  else
    s.state = due;
  return s;
}

/// True when a key with this `due` owes nothing at `now_ms`.
constexpr bool at_rest(std::int64_t due, std::int64_t rpm,
                       std::int64_t now_ms) noexcept {
  return rpm <= 0 || due <= now_ms * rpm;
}

} // namespace gcra

/// A per-key requests-per-minute limiter over a map of keys, with the rule
/// of `gcra` in its leaky-bucket form. A key limited to `rpm`
/// requests per minute may send `rpm` requests at once after being idle,
/// then one every 60000 / `rpm` ms. The state of a key is what it still
/// owes, counted in requests, so a change of its `rpm` applies at once: a
/// key that used 2 of 4 may send 2 more if raised to 4 from 2, none if
/// lowered to 2, and a lowered limit never carries over more than one
/// minute of debt. Time is always passed in. Not thread-safe: the owner
/// serializes calls.
class gcra_limiter {
public:
  /// The outcome of one hit.
  struct decision {
    /// Whether the request may proceed.
    bool allowed;
    /// When denied, milliseconds until the same hit would be allowed
    /// (always >= 1); 0 when allowed.
    long long retry_after_ms;
  };

  /// Counts a request of `key`, limited to `rpm` requests per minute, at
  /// `now_ms`, if the limit allows it. Denied requests are not counted, so
  /// a client hammering the limit is not locked out longer. An `rpm` of 0
  /// or below refuses everything with a retry after one minute. A `now_ms`
  /// earlier than the key's last hit counts as that hit's time.
  decision hit(const std::string& key, int rpm, long long now_ms);

  /// Forgets keys that owe nothing at `now_ms` under the limit of their
  /// last hit; they behave as new keys.
  void prune(long long now_ms);

  /// Returns the number of keys currently tracked.
  std::size_t key_count() const noexcept {
    return keys_.size();
  }

private:
  struct bucket {
    // What the key owes, in units of 1/60000 of a request: each request
    // adds 60000 and `rpm` units drain per millisecond, which keeps every
    // step in exact integer arithmetic for any rpm.
    long long level;
    // The time of the last hit, at which `level` was reckoned.
    long long last_ms;
    // The limit of the last hit, which drained the level since then.
    long long rpm;
  };

  std::unordered_map<std::string, bucket> keys_;
};

} // namespace gatehouse::policy
