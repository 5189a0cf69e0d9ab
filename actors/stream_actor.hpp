#pragma once

#include "actors/fwd.hpp"
#include "policy/sse.hpp"
#include "policy/usage.hpp"

namespace gatehouse::actors {

/// State of one stream relay.
struct stream_state {
  policy::sse_parser parser;
  policy::stream_usage usage;
  policy::stream_text_counter text;
  bool drop_usage_chunk = false;
  static inline const char* name = "stream_actor";
};

/// One actor per streamed answer: turns upstream bytes into whole SSE
/// events, passes on the bytes of each event as soon as it is complete
/// (minus the usage-only chunk the gateway asked for on the client's
/// behalf), and reports usage when the stream ends.
stream_actor::behavior_type
stream_actor_impl(stream_actor::stateful_pointer<stream_state> self,
                  bool drop_usage_chunk);

} // namespace gatehouse::actors
