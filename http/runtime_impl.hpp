#pragma once

// Asio's side of http::runtime; include only from .cpp files that already
// speak Asio (server, upstream, proxy).

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "http/runtime.hpp"

namespace gatehouse::http {

struct runtime::impl {
  using guard =
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  explicit impl(int threads);

  /// The loop of the first thread: the listener, signals, timers.
  boost::asio::io_context& main() {
    return *loops[0];
  }

  /// A loop for a new connection, round robin.
  boost::asio::io_context& pick() {
    return *loops[next++ % loops.size()];
  }

  /// The index of the loop the calling thread runs, 0 on other threads.
  static std::size_t here();

  /// Runs every loop on its own thread (the first on the caller's) until
  /// `stop`.
  void run();

  /// Ends `run` on every thread.
  void stop();

  std::vector<std::unique_ptr<boost::asio::io_context>> loops;
  std::vector<std::optional<guard>> guards;
  std::atomic<std::size_t> next{0};
};

} // namespace gatehouse::http
