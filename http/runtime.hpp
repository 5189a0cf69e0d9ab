#pragma once

#include <memory>

namespace gatehouse::http {

/// The I/O threads: one event loop per thread, each with its own sessions
/// and its own upstream connections, so that a proxied exchange stays on
/// one thread from the client's request to the provider's answer.
class runtime {
public:
  explicit runtime(int threads);
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Defined in runtime_impl.hpp, for the files that speak Asio.
  struct impl;
  impl& get() {
    return *impl_;
  }

private:
  std::unique_ptr<impl> impl_;
};

} // namespace gatehouse::http
