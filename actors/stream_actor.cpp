#include "actors/stream_actor.hpp"

namespace gatehouse::actors {

namespace {

using state_ptr = stream_actor::stateful_pointer<stream_state>;

/// The bytes to relay for `events`; counts usage and text on the way.
std::string relay(stream_state& st, std::vector<policy::sse_event>& events) {
  std::string out;
  for (auto& ev : events) {
    st.usage.on_event(ev);
    st.text.on_event(ev);
    if (st.drop_usage_chunk && policy::is_usage_only_chunk(ev))
      continue;
    out += ev.raw;
  }
  events.clear();
  return out;
}

} // namespace

stream_actor::behavior_type stream_actor_impl(state_ptr self,
                                              bool drop_usage_chunk) {
  self->state.drop_usage_chunk = drop_usage_chunk;
  return {
    [=](chunk_atom, const std::string& bytes, const chunk_reply& reply) {
      std::vector<policy::sse_event> events;
      self->state.parser.feed(bytes, events);
      reply.fn(relay(self->state, events));
    },
    [=](end_atom, const end_reply& reply) {
      auto& st = self->state;
      std::vector<policy::sse_event> events;
      st.parser.finish(events);
      stream_summary out;
      out.tail = relay(st, events);
      auto u = st.usage.result();
      out.usage_present = u.present;
      out.input_tokens = u.input_tokens;
      out.output_tokens = u.output_tokens;
      out.text_chars = static_cast<long long>(st.text.chars());
      reply.fn(std::move(out));
      self->quit();
    },
  };
}

} // namespace gatehouse::actors
