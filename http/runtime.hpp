#pragma once

#include <memory>

namespace gatehouse::http {

/// The I/O threads' event loop, shared by the listener and the upstream
/// client so that a proxied exchange stays on one set of threads.
class runtime {
public:
  runtime();
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
