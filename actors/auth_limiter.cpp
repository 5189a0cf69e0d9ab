#include "actors/auth_limiter.hpp"

namespace gatehouse::actors {

auth_limiter_actor::behavior_type auth_limiter_impl(
  auth_limiter_actor::stateful_pointer<auth_limiter_state> self,
  std::size_t max_clients) {
  self->state.limiter = policy::sliding_window_limiter{10, 15 * 60 * 1000,
                                                       max_clients};
  return {
    [=](auth_hit_atom, const std::string& client, int64_t now_ms) {
      auto& st = self->state;
      // Forget idle clients now and then so the table stays small.
      if (++st.hits % 1024 == 0)
        st.limiter.prune(now_ms);
      auto d = st.limiter.hit(policy::limiter_client_key(client), now_ms);
      limit_decision out;
      out.allowed = d.allowed;
      out.retry_after_s = d.allowed ? 0 : (d.retry_after_ms + 999) / 1000;
      return out;
    },
  };
}

} // namespace gatehouse::actors
