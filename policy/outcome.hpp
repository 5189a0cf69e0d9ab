#pragma once

#include <utility>
#include <variant>

#include "policy/errc.hpp"

namespace gatehouse::policy {

/// Either a value or the problem that prevented it; the return type of every
/// fallible domain operation outside the actor system.
template <class T>
class outcome {
public:
  outcome(T value) : data_(std::move(value)) {}
  outcome(problem p) : data_(std::move(p)) {}

  /// True when a value is present.
  bool ok() const noexcept {
    return data_.index() == 0;
  }
  explicit operator bool() const noexcept {
    return ok();
  }

  T& value() & {
    return std::get<0>(data_);
  }
  const T& value() const& {
    return std::get<0>(data_);
  }
  T&& value() && {
    return std::get<0>(std::move(data_));
  }
  T* operator->() {
    return &value();
  }
  const T* operator->() const {
    return &value();
  }

  const problem& error() const {
    return std::get<1>(data_);
  }

private:
  std::variant<T, problem> data_;
};

} // namespace gatehouse::policy
