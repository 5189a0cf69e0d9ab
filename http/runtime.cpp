#include "http/runtime_impl.hpp"

#include <string>
#include <thread>

#include <pthread.h>

#include <spdlog/spdlog.h>

namespace gatehouse::http {

namespace {

thread_local std::size_t current_loop = 0;

/// Runs `loop` until it stops. A handler that throws is a bug, but one
/// request's bug must not end the node: it is logged and the loop goes on
/// (Asio allows `run` to be called again after an exception).
void run_loop(boost::asio::io_context& loop) {
  for (;;) {
    try {
      loop.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("an I/O thread caught an exception: {}", e.what());
    } catch (...) {
      spdlog::error("an I/O thread caught an unknown exception");
    }
  }
}

/// "gh.io.N" in `top -H`, `ps -L` and profiles (loop 0 runs on the main
/// thread, which keeps the program's name).
void name_thread(std::size_t i) {
  auto name = "gh.io." + std::to_string(i);
  pthread_setname_np(pthread_self(), name.c_str());
}

} // namespace

runtime::impl::impl(int threads) {
  auto n = static_cast<std::size_t>(threads < 1 ? 1 : threads);
  for (std::size_t i = 0; i < n; ++i) {
    // One thread per loop: Asio may skip its internal locking.
    loops.push_back(std::make_unique<loop_context>(1));
    guards.emplace_back(boost::asio::make_work_guard(*loops.back()));
  }
}

runtime::impl::~impl() {
  guards.clear();
  for (auto& l : loops)
    l->drop_pending();
}

std::size_t runtime::impl::here() {
  return current_loop;
}

void runtime::impl::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops.size(); ++i)
    threads.emplace_back([this, i] {
      current_loop = i;
      name_thread(i);
      run_loop(*loops[i]);
    });
  current_loop = 0;
  run_loop(*loops[0]);
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
