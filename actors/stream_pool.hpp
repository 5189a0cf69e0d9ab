#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "actors/fwd.hpp"
#include "actors/stream_actor.hpp"

namespace gatehouse::actors {

/// Idle stream actors kept for the next streams. A stream actor resets its
/// state when its stream ends, so each stream still has an actor of its own
/// while it runs, but one that is reused: that saves the spawn and, above
/// all, the end of an actor, which in CAF 0.17 wakes the clock thread
/// (every terminated actor cancels its timeouts there).
class stream_actor_pool {
public:
  stream_actor_pool(caf::actor_system& sys, std::size_t max_idle)
    : sys_(sys), max_idle_(max_idle) {
  }

  /// An idle actor, or a new one (scheduled by its first message).
  stream_actor take() {
    {
      std::lock_guard guard{mtx_};
      if (!idle_.empty()) {
        auto hdl = std::move(idle_.back());
        idle_.pop_back();
        return hdl;
      }
    }
    return sys_.spawn<caf::lazy_init>(stream_actor_impl);
  }

  /// Returns an actor whose stream ended (its end message is already in
  /// its mailbox, ahead of anything the next user sends).
  void give_back(stream_actor hdl) {
    {
      std::lock_guard guard{mtx_};
      if (!closed_ && idle_.size() < max_idle_) {
        idle_.push_back(std::move(hdl));
        return;
      }
    }
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  }

  /// Ends the idle actors; actors given back later end too.
  void close() {
    std::vector<stream_actor> idle;
    {
      std::lock_guard guard{mtx_};
      closed_ = true;
      idle.swap(idle_);
    }
    for (auto& hdl : idle)
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  }

private:
  caf::actor_system& sys_;
  std::size_t max_idle_;
  std::mutex mtx_;
  std::vector<stream_actor> idle_;
  bool closed_ = false;
};

} // namespace gatehouse::actors
