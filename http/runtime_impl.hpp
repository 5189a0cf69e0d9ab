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

/// An event loop whose pending work can be dropped ahead of its
/// destruction (see runtime::impl::~impl).
class loop_context : public boost::asio::io_context {
public:
  using boost::asio::io_context::io_context;

  /// Destroys every pending handler; the loop's services stay until the
  /// loop itself goes.
  void drop_pending() {
    shutdown();
  }
};

struct runtime::impl {
  using guard =
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  explicit impl(int threads);

  /// A pending handler may hold the last reference to an object with parts
  /// on several loops (the server and its sessions do). Destroying the
  /// loops one by one would then free such an object after the services of
  /// an earlier loop were gone; so every loop drops its pending handlers
  /// first, while all services still exist, and only then are they
  /// destroyed.
  ~impl();

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

  std::vector<std::unique_ptr<loop_context>> loops;
  std::vector<std::optional<guard>> guards;
  std::atomic<std::size_t> next{0};
};

} // namespace gatehouse::http
