#include "http/worker_pool.hpp"

namespace gatehouse::http {

worker_pool::worker_pool(int threads) {
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([this] { run(); });
}

worker_pool::~worker_pool() {
  stop();
}

void worker_pool::post(std::function<void()> job) {
  {
    std::lock_guard guard{mtx_};
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
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
      cv_.wait(guard, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty())
        return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

} // namespace gatehouse::http
