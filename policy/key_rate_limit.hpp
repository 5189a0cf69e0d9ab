#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

namespace gatehouse::policy {

/// A per-key requests-per-minute limiter using the generic cell rate
/// algorithm (GCRA) in its leaky-bucket form. A key limited to `rpm`
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

  static long long drained(const bucket& b, long long now_ms);

  std::unordered_map<std::string, bucket> keys_;
};

} // namespace gatehouse::policy
