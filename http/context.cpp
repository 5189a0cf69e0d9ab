#include "http/context.hpp"

namespace gatehouse::http {

actors::audit_ctx request_context::who() const {
  actors::audit_ctx out;
  if (user) {
    out.actor_type = "user";
    out.actor_id = user->id;
  } else {
    out.actor_type = "operator";
    out.actor_id = "operator";
  }
  out.ip = client_ip;
  out.now_s = now_s;
  out.now_ms = now_ms;
  return out;
}

actors::audit_ctx request_context::who_as(const std::string& user_id) const {
  auto out = who();
  out.actor_type = "user";
  out.actor_id = user_id;
  return out;
}

} // namespace gatehouse::http
