#pragma once

// The Asio types of the I/O loops. Every socket, stream and timer is bound
// to the concrete executor of its loop instead of the type-erased
// `any_io_executor`, whose copies and destruction cost an indirect call on
// every asynchronous operation. Speaks Asio: include only from .cpp files
// and from headers that already do.

#include <chrono>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace gatehouse::http {

/// The executor of one I/O loop.
using loop_executor = boost::asio::io_context::executor_type;

/// A TCP socket of one loop.
using loop_socket =
  boost::asio::basic_stream_socket<boost::asio::ip::tcp, loop_executor>;

/// A listening socket of one loop; it accepts `loop_socket`s.
using loop_acceptor =
  boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, loop_executor>;

/// A steady-clock timer of one loop.
using loop_timer = boost::asio::basic_waitable_timer<
  std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
  loop_executor>;

/// A TCP stream with timeouts (Beast) of one loop.
using loop_stream = boost::beast::basic_stream<boost::asio::ip::tcp,
                                               loop_executor>;

} // namespace gatehouse::http
