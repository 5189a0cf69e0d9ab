#pragma once

// Push notification of committed changes of organizations (PostgreSQL's
// LISTEN/NOTIFY), so that nodes apply them at once instead of at their next
// read of the change log.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace gatehouse::storage {

/// Listens on the change channel (see store::org_changes_after) over a
/// connection of its own, on a thread of its own that sleeps in poll()
/// until the server sends something or the listener stops: an idle node
/// does no work. Calls `on_change` once per batch of notifications, and
/// once after every (re)connection, since changes committed while it was
/// not listening were announced to nobody. A lost connection is opened
/// again after 100 ms, doubling up to 5 s; each attempt gives up after 3 s.
class change_listener {
public:
  /// A listener for PostgreSQL at `url`, not started yet.
  explicit change_listener(std::string url);

  /// Starts listening. `on_change` and `on_error` (told why a connection
  /// failed or was lost; once per outage) run on the listener's thread and
  /// must not block. Call once.
  void start(std::function<void()> on_change,
             std::function<void(const std::string&)> on_error);

  change_listener(const change_listener&) = delete;
  change_listener& operator=(const change_listener&) = delete;

  /// Stops the thread, if started (at once: it is woken through a pipe).
  ~change_listener();

  /// True while the connection is up and listening.
  bool listening() const noexcept {
    return listening_.load();
  }

  /// Connections opened so far (the first one included).
  int connections() const noexcept {
    return connections_.load();
  }

private:
  void run();

  const std::string url_;
  std::function<void()> on_change_;
  std::function<void(const std::string&)> on_error_;
  int wake_[2] = {-1, -1}; ///< a pipe: writing to it stops the thread
  std::atomic<bool> listening_{false};
  std::atomic<int> connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace gatehouse::storage
