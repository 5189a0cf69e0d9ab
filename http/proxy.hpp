#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "http/client_channel.hpp"
#include "http/message.hpp"
#include "http/runtime.hpp"
#include "http/services.hpp"
#include "policy/errc.hpp"

namespace gatehouse::http {

/// True for the data-plane paths (`/v1/*`).
bool is_proxy_path(std::string_view path);

/// The data plane: authorizes each `/v1/*` request in its org actor, sends it
/// to the chosen provider over a pooled connection, relays the answer (SSE
/// streams event by event), and settles usage. Never blocks an I/O thread.
class proxy {
public:
  proxy(services& svc, runtime& rt);
  ~proxy();

  proxy(const proxy&) = delete;
  proxy& operator=(const proxy&) = delete;

  /// Answers one request on `client`; never throws.
  void handle(http_request req, std::shared_ptr<client_channel> client);

  /// Refuses, before its body is read, a request without a key this node
  /// knows (see `early_check_fn`).
  std::optional<policy::problem>
  check_early(std::string_view path,
              std::optional<std::string_view> key) const;

  struct impl;

private:
  void handle_request(http_request req, std::shared_ptr<client_channel> client);

  std::unique_ptr<impl> impl_;
};

} // namespace gatehouse::http
