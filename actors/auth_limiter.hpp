#pragma once

#include "actors/fwd.hpp"
#include "policy/rate_limiter.hpp"

namespace gatehouse::actors {

/// State of the limiter for `/signup` and `/login`.
struct auth_limiter_state {
  policy::sliding_window_limiter limiter{10, 15 * 60 * 1000};
  uint64_t hits = 0;
  static inline const char* name = "auth_limiter";
};

/// Allows 10 attempts per client IP in any 15-minute window. Time is part of
/// each message, so the limiter is deterministic under test.
/// At most `max_clients` addresses are tracked (IPv6 by /64).
auth_limiter_actor::behavior_type
auth_limiter_impl(auth_limiter_actor::stateful_pointer<auth_limiter_state> self,
                  std::size_t max_clients = 100000);

} // namespace gatehouse::actors
