#include "actors/stream_actor.hpp"

namespace gatehouse::actors {

namespace {

/// Counts usage, and the text only while no usage was reported: the text
/// serves to estimate the tokens of a stream without usage, and once usage
/// was seen it stays (a later report only replaces counts). Looking for
/// usage first skips parsing every event of a batch that reports it.
void count(stream_state& st, const std::vector<policy::sse_event>& events) {
  for (const auto& ev : events)
    st.usage.on_event(ev);
  if (st.usage.result().present)
    return;
  for (const auto& ev : events)
    st.text.on_event(ev);
}

} // namespace

stream_actor::behavior_type
stream_actor_impl(stream_actor::stateful_pointer<stream_state> self) {
  return {
    [=](chunk_atom, const std::vector<policy::sse_event>& events) {
      count(self->state, events);
    },
    [=](end_atom, const std::vector<policy::sse_event>& events,
        const end_reply& reply) {
      auto& st = self->state;
      count(st, events);
      stream_summary out;
      auto u = st.usage.result();
      out.usage_present = u.present;
      out.input_tokens = u.input_tokens;
      out.output_tokens = u.output_tokens;
      out.text_chars = static_cast<long long>(st.text.chars());
      if (reply.fn)
        reply.fn(std::move(out));
      // Ready for the next stream (actors are pooled, see stream_pool.hpp).
      st.usage = policy::stream_usage{};
      st.text = policy::stream_text_counter{};
    },
  };
}

} // namespace gatehouse::actors
