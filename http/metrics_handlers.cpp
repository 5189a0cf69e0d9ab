// Prometheus metrics of one org, and of the whole node.

#include "actors/gateway.hpp"
#include "http/handlers.hpp"
#include "http/response_cache.hpp"

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

/// The response cache's node-wide gauges and evictions.
std::string cache_metrics(const response_cache& cache) {
  auto f = cache.totals();
  return "# HELP gatehouse_cache_entries Answers held by the response "
         "cache.\n# TYPE gatehouse_cache_entries gauge\n"
         "gatehouse_cache_entries "
         + std::to_string(f.entries)
         + "\n# HELP gatehouse_cache_bytes Memory the response cache "
           "accounts for (answers, keys, bookkeeping).\n"
           "# TYPE gatehouse_cache_bytes gauge\ngatehouse_cache_bytes "
         + std::to_string(f.bytes)
         + "\n# HELP gatehouse_cache_evictions_total Answers the response "
           "cache dropped to stay within --cache-mib.\n"
           "# TYPE gatehouse_cache_evictions_total counter\n"
           "gatehouse_cache_evictions_total "
         + std::to_string(f.evictions) + "\n";
}

http_response handle_node_metrics(request_context& ctx) {
  auto text = ctx.svc.gw.metrics().render(std::nullopt);
  if (ctx.svc.cache)
    text += cache_metrics(*ctx.svc.cache);
  return prometheus(std::move(text));
}

} // namespace gatehouse::http
