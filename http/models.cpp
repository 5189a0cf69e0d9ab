// GET /v1/models: the union of the providers' model lists a key may use.

#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "actors/gateway.hpp"
#include "http/api_error.hpp"
#include "http/proxy_impl.hpp"
#include "policy/json_parse.hpp"
#include "policy/scopes.hpp"

namespace gatehouse::http {

namespace {

/// Largest model list read from one provider.
constexpr size_t max_list_bytes = 8 * 1024 * 1024;

/// Collects the lists of several providers; answers when the last is in.
class model_listing : public std::enable_shared_from_this<model_listing> {
public:
  model_listing(proxy::impl& px, upstream_pool& pool,
                std::shared_ptr<client_channel> client, actors::grant g,
                header_list client_headers)
    : px_(px),
      pool_(pool),
      client_(std::move(client)),
      grant_(std::move(g)),
      client_headers_(std::move(client_headers)) {
  }

  void start() {
    pending_ = grant_.targets.size();
    if (pending_ == 0)
      return answer();
    for (auto& t : grant_.targets)
      fetch(t);
  }

private:
  struct call {
    upstream_pool::conn_ptr conn;
    bhttp::request<bhttp::empty_body> req;
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
  };

  void fetch(const actors::upstream_target& t) {
    auto self = shared_from_this();
    pool_.acquire(t, [self, t](beast::error_code ec,
                                  upstream_pool::conn_ptr c) {
      if (ec)
        return self->one_done();
      auto ex = c->executor();
      net::dispatch(ex, [self, t, c = std::move(c)]() mutable {
        self->request(t, std::move(c));
      });
    });
  }

  void request(const actors::upstream_target& t, upstream_pool::conn_ptr c) {
    auto k = std::make_shared<call>();
    k->conn = std::move(c);
    k->req.version(11);
    k->req.method(bhttp::verb::get);
    k->req.target(t.base_path + "/v1/models");
    k->req.set(bhttp::field::host, host_header(t));
    k->req.set(bhttp::field::accept_encoding, "identity");
    if (!t.passthrough && !t.auth_value.empty()) {
      if (!sendable_credential(t)) {
        k->conn->close();
        return one_done();
      }
      k->req.set(t.auth_header, t.auth_value);
    } else if (auto auth = client_auth(t)) {
      k->req.set(t.auth_header, *auth);
    }
    k->req.keep_alive(true);
    k->parser.body_limit(max_list_bytes);
    k->conn->tcp().expires_after(pool_.timeouts().response);
    auto self = shared_from_this();
    k->conn->visit([self, k, t](auto& s) {
      bhttp::async_write(s, k->req, [self, k, t, &s](beast::error_code ec,
                                                     std::size_t) {
        if (ec) {
          k->conn->close();
          return self->one_done();
        }
        bhttp::async_read(s, k->buffer, k->parser,
                          [self, k, t](beast::error_code ec, std::size_t) {
                            self->on_list(ec, *k, t);
                          });
      });
    });
  }

  /// In passthrough mode the client's own credentials are sent along.
  std::optional<std::string> client_auth(const actors::upstream_target& t) {
    if (!t.passthrough)
      return std::nullopt;
    std::string wanted = t.auth_header;
    for (auto& c : wanted)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& [name, value] : client_headers_)
      if (name == wanted)
        return value;
    return std::nullopt;
  }

  void on_list(beast::error_code ec, call& k,
               const actors::upstream_target& t) {
    if (ec) {
      k.conn->close();
      return one_done();
    }
    auto& res = k.parser.get();
    // An upstream's answer is read like any outside JSON: whole, valid and
    // shallow, or not at all.
    nlohmann::json body;
    policy::parse_json(res.body(), px_.svc.cfg.max_json_depth, body);
    if (res.keep_alive() && k.buffer.size() == 0)
      pool_.release(std::move(k.conn));
    else
      k.conn->close();
    if (res.result_int() == 200 && body.is_object()
        && body.contains("data") && body["data"].is_array()) {
      std::lock_guard guard{mtx_};
      for (auto& m : body["data"]) {
        if (!m.is_object() || !m.contains("id") || !m["id"].is_string())
          continue;
        auto id = m["id"].get<std::string>();
        if (!policy::scopes_allow(grant_.scopes, t.provider, id)
            || !seen_.insert(id).second)
          continue;
        data_.push_back(m);
      }
    }
    one_done();
  }

  void one_done() {
    std::lock_guard guard{mtx_};
    if (--pending_ == 0)
      answer();
  }

  void answer() {
    client_->respond(
      json_response(200, {{"object", "list"}, {"data", data_}}));
  }

  proxy::impl& px_;
  upstream_pool& pool_;
  std::shared_ptr<client_channel> client_;
  actors::grant grant_;
  header_list client_headers_;
  std::mutex mtx_;
  size_t pending_ = 0;
  std::set<std::string> seen_;
  nlohmann::json data_ = nlohmann::json::array();
};

} // namespace

void list_models(proxy::impl& px, const http_request& req,
                 std::shared_ptr<client_channel> client,
                 std::string key_hash) {
  auto now_s = px.svc.now_ms() / 1000;
  px.svc.gw.key_targets(
    std::move(key_hash), now_s,
    [&px, &pool = px.pool_here(), client,
     headers = req.headers](actors::authorization a) mutable {
      if (!a.ok)
        return client->respond(error_response(a.denial));
      std::make_shared<model_listing>(px, pool, std::move(client),
                                      std::move(a.permit), std::move(headers))
        ->start();
    });
}

} // namespace gatehouse::http
