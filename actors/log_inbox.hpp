#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "actors/fwd.hpp"

namespace gatehouse::actors {

/// Where I/O threads drop finished exchanges for the storage writer. The
/// writer is rung once per group commit, not per entry: by the first entry
/// after it emptied the inbox (it then waits for its commit interval) and
/// again when a full batch is waiting. So under any load the I/O threads
/// wake the writer about ten times a second.
class log_inbox {
public:
  /// `batch` entries waiting ring the writer at once.
  explicit log_inbox(std::size_t batch) : batch_(batch) {
  }

  /// Adds an entry; true when the writer must be told.
  bool push(log_entry entry) {
    std::lock_guard guard{mtx_};
    entries_.push_back(std::move(entry));
    pushed_.store(pushed_.load(std::memory_order_relaxed) + 1,
                  std::memory_order_relaxed);
    if (!rung_) {
      rung_ = true;
      return true;
    }
    return entries_.size() == batch_;
  }

  /// Entries pushed since the start (read without the lock, for metrics).
  std::uint64_t pushed() const {
    return pushed_.load(std::memory_order_relaxed);
  }

  /// How many entries wait.
  std::size_t size() {
    std::lock_guard guard{mtx_};
    return entries_.size();
  }

  /// Everything waiting; the next entry rings again.
  std::vector<log_entry> take() {
    std::lock_guard guard{mtx_};
    std::vector<log_entry> out;
    out.swap(entries_);
    rung_ = false;
    return out;
  }

private:
  std::mutex mtx_;
  std::vector<log_entry> entries_;
  std::size_t batch_;
  bool rung_ = false;
  std::atomic<std::uint64_t> pushed_{0}; ///< written under mtx_ only
};

} // namespace gatehouse::actors
