#pragma once

#include "actors/fwd.hpp"
#include "policy/sse.hpp"
#include "policy/usage.hpp"

namespace gatehouse::actors {

/// State of one stream's accounting.
struct stream_state {
  policy::stream_usage usage;
  policy::stream_text_counter text;
  static inline const char* name = "stream_actor";
};

/// One actor per streamed answer: counts the usage and text of the events
/// the relay passed on (it never waits for this actor), and reports both
/// when the stream ends, so the exchange can be settled; then it starts
/// afresh for the next stream it is given (see stream_actor_pool).
stream_actor::behavior_type
stream_actor_impl(stream_actor::stateful_pointer<stream_state> self);

} // namespace gatehouse::actors
