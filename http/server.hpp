#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "http/client_channel.hpp"
#include "http/message.hpp"
#include "http/runtime.hpp"

namespace gatehouse::http {

/// Size limits and timeouts of the HTTP front.
struct server_limits {
  std::size_t header_bytes = 16 * 1024;
  std::size_t proxy_body_bytes = 8 * 1024 * 1024;  ///< for /v1/*
  std::size_t manage_body_bytes = 1024 * 1024;     ///< everything else
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds drain_grace{30};
};

/// The HTTP/1.1 listener: keep-alive sessions, limits, timeouts, and a
/// graceful drain on SIGTERM or SIGINT.
class server {
public:
  using dispatch_fn =
    std::function<void(http_request, std::shared_ptr<client_channel>)>;

  /// Binds `host:port` (port 0 picks a free one) on `rt`'s event loop;
  /// throws on failure.
  server(runtime& rt, const std::string& host, unsigned short port,
         server_limits limits, dispatch_fn dispatch);
  ~server();

  /// The bound port.
  unsigned short port() const;

  /// Serves on the runtime's threads until a signal (or `stop()`) has
  /// drained every session.
  void run();

  /// Starts the drain from any thread.
  void stop();

  /// The listener's state, shared with its sessions.
  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace gatehouse::http
