#pragma once

#include <mutex>
#include <vector>

#include "actors/fwd.hpp"

namespace gatehouse::actors {

/// Where I/O threads drop finished exchanges for the storage writer. Only
/// the entry that finds the inbox empty rings the writer, so under load one
/// message carries many entries instead of one message (and one thread
/// wake-up) per request.
class log_inbox {
public:
  /// Adds an entry; true when the inbox was empty, i.e. the writer must be
  /// told (every entry pushed meanwhile rides along with that message).
  bool push(log_entry entry) {
    std::lock_guard guard{mtx_};
    bool was_empty = entries_.empty();
    entries_.push_back(std::move(entry));
    return was_empty;
  }

  /// Everything waiting.
  std::vector<log_entry> take() {
    std::lock_guard guard{mtx_};
    std::vector<log_entry> out;
    out.swap(entries_);
    return out;
  }

private:
  std::mutex mtx_;
  std::vector<log_entry> entries_;
};

} // namespace gatehouse::actors
