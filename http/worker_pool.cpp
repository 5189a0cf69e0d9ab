#include "http/worker_pool.hpp"

#include <spdlog/spdlog.h>

namespace gatehouse::http {

worker_pool::worker_pool(int threads, std::size_t max_queued)
  : max_queued_(max_queued) {
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([this] { run(); });
}

worker_pool::~worker_pool() {
  stop();
}

bool worker_pool::post(std::function<void()> job) {
  {
    std::lock_guard guard{mtx_};
    // Idle threads take queued jobs at once: they do not count as waiting.
    if (jobs_.size() >= max_queued_ + idle_)
      return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void worker_pool::stop() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
  threads_.clear();
}

void worker_pool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock guard{mtx_};
      ++idle_;
      cv_.wait(guard, [this] { return stopping_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty())
        return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      // Jobs answer their own errors; one that escapes is a bug that must
      // not end the node.
      spdlog::error("a worker thread caught an exception: {}", e.what());
    } catch (...) {
      spdlog::error("a worker thread caught an unknown exception");
    }
  }
}

} // namespace gatehouse::http
