#pragma once

// Asio's side of http::runtime; include only from .cpp files that already
// speak Asio (server, upstream, proxy).

#include <boost/asio/io_context.hpp>

#include "http/runtime.hpp"

namespace gatehouse::http {

struct runtime::impl {
  boost::asio::io_context ioc;
};

} // namespace gatehouse::http
