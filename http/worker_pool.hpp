#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gatehouse::http {

/// Threads for blocking work (storage reads and writes, password hashing,
/// waiting for actors) so that I/O threads never block.
class worker_pool {
public:
  /// Starts `threads` threads; at most `max_queued` jobs wait for one.
  explicit worker_pool(int threads, std::size_t max_queued = 1024);
  ~worker_pool();

  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Queues `job`; it runs on one of the pool's threads. Returns false,
  /// without queueing, when the queue is full.
  bool post(std::function<void()> job);

  /// Runs the queued jobs to completion and joins the threads.
  void stop();

private:
  void run();

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::size_t max_queued_;
  std::size_t idle_ = 0; ///< threads waiting for a job
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace gatehouse::http
