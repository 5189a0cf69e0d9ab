#include "http/runtime_impl.hpp"

#include <thread>

namespace gatehouse::http {

namespace {

thread_local std::size_t current_loop = 0;

} // namespace

runtime::impl::impl(int threads) {
  auto n = static_cast<std::size_t>(threads < 1 ? 1 : threads);
  for (std::size_t i = 0; i < n; ++i) {
    // One thread per loop: Asio may skip its internal locking.
    loops.push_back(std::make_unique<boost::asio::io_context>(1));
    guards.emplace_back(boost::asio::make_work_guard(*loops.back()));
  }
}

std::size_t runtime::impl::here() {
  return current_loop;
}

void runtime::impl::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops.size(); ++i)
    threads.emplace_back([this, i] {
      current_loop = i;
      loops[i]->run();
    });
  current_loop = 0;
  loops[0]->run();
  for (auto& t : threads)
    t.join();
}

void runtime::impl::stop() {
  for (auto& g : guards)
    g.reset();
  for (auto& l : loops)
    l->stop();
}

runtime::runtime(int threads) : impl_(std::make_unique<impl>(threads)) {
}

runtime::~runtime() = default;

} // namespace gatehouse::http
