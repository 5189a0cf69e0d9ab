#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/client_channel.hpp"
#include "http/message.hpp"
#include "http/runtime.hpp"
#include "policy/errc.hpp"

namespace gatehouse::http {

/// Size limits and timeouts of the HTTP front.
struct server_limits {
  std::size_t header_bytes = 16 * 1024;
  std::size_t proxy_body_bytes = 8 * 1024 * 1024;  ///< for /v1/*
  std::size_t manage_body_bytes = 1024 * 1024;     ///< everything else
  std::size_t max_connections = 10000;
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds drain_grace{30};
};

/// Bodies at least this large are not read before `early_check` passed.
constexpr std::size_t early_check_body_bytes = 64 * 1024;

/// A look at a request before its body is read: a problem refuses it at
/// once (the connection is then closed), so that a client without a valid
/// credential cannot make the node read megabytes.
using early_check_fn = std::function<std::optional<policy::problem>(
  std::string_view path, std::optional<std::string_view> key)>;

/// The HTTP/1.1 listener: keep-alive sessions, limits, timeouts, and a
/// graceful drain on SIGTERM or SIGINT.
class server {
public:
  using dispatch_fn =
    std::function<void(http_request, std::shared_ptr<client_channel>)>;

  /// Binds `host:port` (port 0 picks a free one) on `rt`'s event loop;
  /// throws on failure.
  server(runtime& rt, const std::string& host, unsigned short port,
         server_limits limits, dispatch_fn dispatch,
         early_check_fn early_check = nullptr);
  ~server();

  /// The bound port.
  unsigned short port() const;

  /// Serves on the runtime's threads until a signal (or `stop()`) has
  /// drained every session. When the drain grace is over, sessions still
  /// open are aborted (streams end and settle) and given a moment to
  /// finish before the loops stop.
  void run();

  /// Starts the drain from any thread.
  void stop();

  /// The listener's state, shared with its sessions.
  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace gatehouse::http
