#pragma once

#include <functional>
#include <string>

#include "http/message.hpp"

namespace gatehouse::http {

/// The client end of one request, as the session exposes it to whoever
/// answers: a complete response, or a chunked stream written piece by piece.
/// Every method may be called from any thread; completions run on the
/// connection's loop.
class client_channel {
public:
  /// Called with false when the client is gone.
  using done_fn = std::function<void(bool ok)>;

  /// Called when the connection ends during a stream; `shutdown` is true
  /// when the node ended it (its drain grace was over), false when the
  /// client went away.
  using disconnect_fn = std::function<void(bool shutdown)>;

  virtual ~client_channel() = default;

  /// The id sent back as X-Gatehouse-Request-Id.
  virtual const std::string& request_id() const = 0;

  /// Sends a complete answer; the exchange ends.
  virtual void respond(http_response res) = 0;

  /// Starts a chunked answer (`res.body` is ignored). The head is sent with
  /// the first chunk, or with the end.
  virtual void start_stream(http_response head, done_fn done) = 0;

  /// Sends one chunk of a streamed answer.
  virtual void write_chunk(std::string data, done_fn done) = 0;

  /// Ends a streamed answer, with `tail` as its last chunk when not empty,
  /// in one write; the exchange ends.
  virtual void finish_stream(std::string tail = {}) = 0;

  /// Calls `cb` once if the connection ends while a stream is open.
  virtual void on_disconnect(disconnect_fn cb) = 0;
};

} // namespace gatehouse::http
