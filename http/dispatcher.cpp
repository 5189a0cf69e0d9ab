#include "http/dispatcher.hpp"

#include <chrono>
#include <memory>

#include <spdlog/spdlog.h>

#include "http/api_error.hpp"
#include "http/console.hpp"
#include "http/context.hpp"
#include "http/middleware.hpp"
#include "http/proxy.hpp"
#include "http/worker_pool.hpp"
#include "policy/text.hpp"
#include "storage/database.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"

namespace gatehouse::http {

namespace {

using policy::errc;

/// Query parameters that would carry a credential into URLs, proxies' logs
/// and browser history.
bool has_credential_in_query(const http_request& req) {
  for (auto& [k, v] : req.query)
    if (k == "key" || k == "api_key" || k == "token")
      return true;
  return false;
}

void log_access(const http_request& req, int status,
                std::chrono::steady_clock::time_point start) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
              std::chrono::steady_clock::now() - start)
              .count();
  // The path only: a query string may hold anything.
  spdlog::info("{} {} {} {}us request_id={}", req.method, req.path, status,
               us, req.request_id);
}

/// Text bound for storage must be UTF-8 without NUL (PostgreSQL refuses
/// anything else): a path parameter that is not names nothing, a query
/// parameter that is not is a client's mistake.
void check_text_params(const route_match& m, const http_request& req) {
  auto clean = [](std::string_view v) {
    return v.find('\0') == std::string_view::npos && policy::valid_utf8(v);
  };
  for (auto& [name, value] : m.params)
    if (!clean(value))
      throw api_error(errc::not_found, "no such " + name);
  for (auto& [name, value] : req.query)
    if (!clean(name) || !clean(value))
      throw api_error(errc::invalid_request,
                      "query parameter '" + policy::echo(name)
                        + "': must be valid UTF-8 without NUL");
}

} // namespace

dispatcher::dispatcher(services& svc, storage::connection_pool& pool,
                       worker_pool& workers, proxy& data_plane)
  : svc_(svc), pool_(pool), workers_(workers), proxy_(data_plane) {
}

void dispatcher::dispatch(http_request req,
                          std::shared_ptr<client_channel> client) {
  auto done = [client](http_response res) { client->respond(std::move(res)); };
  auto start = std::chrono::steady_clock::now();
  if (has_credential_in_query(req)) {
    auto res = error_response(policy::make_problem(
      errc::key_in_query,
      "credentials must not be sent in the query string; use a header"));
    log_access(req, res.status, start);
    done(std::move(res));
    return;
  }
  if (is_proxy_path(req.path)) {
    proxy_.handle(std::move(req), std::move(client));
    return;
  }
  // The web console: files from memory, answered on the I/O thread.
  if ((req.method == "GET" || req.method == "HEAD")
      && is_console_path(req.path)) {
    auto res = serve_console(req, svc_.cfg.console_dir);
    log_access(req, res.status, start);
    done(std::move(res));
    return;
  }
  auto m = match_route(req.method, req.path);
  if (!m.r) {
    auto res = error_response(
      policy::make_problem(errc::not_found, "no such route"));
    log_access(req, res.status, start);
    done(std::move(res));
    return;
  }
  if (m.r->inline_ok) {
    auto res = run(m, req);
    done(std::move(res));
    return;
  }
  auto shared = std::make_shared<http_request>(std::move(req));
  bool queued = workers_.post([this, m = std::move(m), shared, done, start] {
    auto res = run(m, *shared);
    log_access(*shared, res.status, start);
    done(std::move(res));
  });
  if (!queued) {
    auto p = policy::make_problem(errc::overloaded,
                                  "the node is busy; try again shortly");
    p.retry_after_s = 1;
    auto res = error_response(p);
    log_access(*shared, res.status, start);
    done(std::move(res));
  }
}

http_response dispatcher::run(const route_match& m, const http_request& req) {
  try {
    if (m.r->inline_ok) {
      // Inline routes touch no storage.
      request_context ctx{req, svc_, nullptr, m.params};
      return m.r->handler(ctx);
    }
    auto lease = pool_.acquire();
    storage::store db{*lease};
    request_context ctx{req, svc_, &db, m.params};
    ctx.client_ip = client_ip(req, svc_);
    ctx.now_ms = svc_.now_ms();
    ctx.now_s = ctx.now_ms / 1000;
    enforce_route(*m.r, ctx);
    check_text_params(m, req);
    return m.r->handler(ctx);
  } catch (const api_error& e) {
    return error_response(e.problem);
  } catch (const storage::conflict_error& e) {
    return error_response(policy::make_problem(
      errc::conflict, "conflicts with an existing record"));
  } catch (const std::exception& e) {
    spdlog::error("request {} failed: {}", req.request_id, e.what());
    return error_response(
      policy::make_problem(errc::internal_error, "internal error"));
  }
}

} // namespace gatehouse::http
