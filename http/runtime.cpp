#include "http/runtime_impl.hpp"

namespace gatehouse::http {

runtime::runtime() : impl_(std::make_unique<impl>()) {
}

runtime::~runtime() = default;

} // namespace gatehouse::http
