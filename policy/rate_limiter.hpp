#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gatehouse::policy {

/// A sliding-window-log rate limiter keyed by client (an IP, a key id...):
/// at most `max_events` accepted events per client in any window of
/// `window_ms`. Time is always passed in. Not thread-safe: the owner
/// serializes calls.
class sliding_window_limiter {
public:
  /// The outcome of one hit.
  struct decision {
    /// Whether the event may proceed.
    bool allowed;
    /// When denied, milliseconds until the oldest event in the window
    /// leaves it (always >= 1); 0 when allowed.
    long long retry_after_ms;
  };

  /// Creates a limiter tracking at most `max_clients` clients; throws
  /// std::invalid_argument unless the arguments are positive. When the
  /// table is full, idle clients are forgotten (at most once a second) and,
  /// if that frees nothing, an arbitrary client is, so that memory stays
  /// bounded whatever the number of addresses an attacker has.
  sliding_window_limiter(int max_events, long long window_ms,
                         std::size_t max_clients = 1000000);

  /// Records an event of `client` at `now_ms` if fewer than `max_events`
  /// accepted events lie in (now_ms - window_ms, now_ms]. Denied events are
  /// not recorded, so a client hammering the limit is not locked out longer.
  decision hit(const std::string& client, long long now_ms);

  /// Forgets clients without an event in the window ending at `now_ms`.
  void prune(long long now_ms);

  /// Returns the number of clients currently tracked.
  std::size_t client_count() const noexcept {
    return clients_.size();
  }

  /// Returns the configured maximum of events per window.
  int max_events() const noexcept {
    return max_events_;
  }

  /// Returns the configured window length.
  long long window_ms() const noexcept {
    return window_ms_;
  }

private:
  void expire(std::deque<long long>& events, long long now_ms) const;
  void make_room(long long now_ms);

  int max_events_;
  long long window_ms_;
  std::size_t max_clients_;
  long long last_prune_ms_ = 0;
  bool pruned_ = false;
  std::unordered_map<std::string, std::deque<long long>> clients_;
};

/// The limiter key of a client address: an IPv4 address as it is, an IPv6
/// address by its /64 network (one subscriber usually holds a whole /64),
/// anything unparseable as it is.
std::string limiter_client_key(std::string_view ip);

} // namespace gatehouse::policy
