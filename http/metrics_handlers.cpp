// Prometheus metrics of one org, and of the whole node.

#include "actors/gateway.hpp"
#include "http/handlers.hpp"

namespace gatehouse::http {

namespace {

http_response prometheus(std::string text) {
  http_response res;
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  res.body = std::move(text);
  return res;
}

} // namespace

http_response handle_org_metrics(request_context& ctx) {
  return prometheus(ctx.svc.gw.metrics().render(ctx.org->id));
}

http_response handle_node_metrics(request_context& ctx) {
  return prometheus(ctx.svc.gw.metrics().render(std::nullopt));
}

} // namespace gatehouse::http
