#include "http/proxy.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/gateway.hpp"
#include "http/api_error.hpp"
#include "http/runtime_impl.hpp"
#include "http/proxy_impl.hpp"
#include "http/proxy_cache.hpp"
#include "policy/api_key.hpp"
#include "policy/guardrails.hpp"
#include "policy/ids.hpp"
#include "policy/proxy_body.hpp"
#include "policy/proxy_path.hpp"
#include "policy/scopes.hpp"
#include "policy/sse.hpp"
#include "policy/text.hpp"
#include "policy/time.hpp"
#include "policy/translate_request.hpp"
#include "policy/translate_response.hpp"
#include "policy/translate_stream.hpp"
#include "policy/usage.hpp"

namespace gatehouse::http {

namespace {

using policy::errc;
using clock_type = std::chrono::steady_clock;

/// Largest non-streamed answer relayed.
constexpr size_t max_answer_bytes = 64 * 1024 * 1024;

/// Relayed events wait until they add up to this many bytes before the
/// stream actor is told (or until the stream ends).
constexpr std::size_t account_batch_bytes = 1024;

/// The piece of a stream's body the parser fills at a time. What a read
/// brings is parsed piece by piece at once (see drain), so this bounds only
/// the memory a stream holds while it waits, not what one read relays.
constexpr size_t stream_piece_bytes = 1024;

/// Bodies kept in a request log when the org logs bodies.
constexpr size_t max_logged_body = 256 * 1024;

/// Bytes of the X-Gatehouse-* values that are recorded on the log.
constexpr size_t max_tag_bytes = 256;
constexpr size_t max_metadata_bytes = 16 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i]))
        != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

/// Headers that describe one hop, not the message (RFC 9110 7.6.1), plus
/// those Gatehouse sets itself.
bool hop_header(std::string_view name) {
  static constexpr std::string_view names[] = {
    "connection", "keep-alive",        "proxy-authenticate",
    "proxy-authorization", "te",       "trailer",
    "transfer-encoding", "upgrade",    "host",
    "content-length",    "expect"};
  for (auto n : names)
    if (iequals(name, n))
      return true;
  return false;
}

/// In api_key mode the client's own provider credentials (often a dummy an
/// SDK insists on) never travel upstream: Gatehouse sends the stored key.
bool client_credential(std::string_view name, std::string_view auth_header) {
  return iequals(name, auth_header) || iequals(name, "authorization")
         || iequals(name, "x-api-key") || iequals(name, "api-key");
}

std::optional<std::string> clip(const std::string& body, bool keep) {
  if (!keep)
    return std::nullopt;
  return body.size() > max_logged_body ? body.substr(0, max_logged_body)
                                       : body;
}

long long ms_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           clock_type::now() - t)
    .count();
}

/// True if `content_type` announces JSON (`application/json`, `…+json`), or
/// is absent: such bodies must parse.
bool json_content(std::optional<std::string_view> content_type) {
  if (!content_type)
    return true;
  auto ct = *content_type;
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t'))
    ct.remove_suffix(1);
  return iequals(ct, "application/json")
         || (ct.size() > 5 && iequals(ct.substr(ct.size() - 5), "+json"));
}

/// Checks a X-Gatehouse-* value that is recorded or used for routing.
std::optional<policy::problem> bad_tag(std::string_view header,
                                       std::string_view value,
                                       size_t max_bytes) {
  const char* why = nullptr;
  if (value.size() > max_bytes)
    why = "is too long";
  else if (policy::has_control_bytes(value))
    why = "must not contain control characters";
  else if (!policy::valid_utf8(value))
    why = "must be valid UTF-8";
  if (!why)
    return std::nullopt;
  return policy::make_problem(errc::invalid_request,
                              "header '" + std::string{header} + "': " + why);
}

bool stale_connection_error(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof
         || ec == net::error::connection_reset
         || ec == net::error::broken_pipe
         || ec == bhttp::error::partial_message;
}

} // namespace

namespace {

/// What authorization needs to know of a request.
actors::proxy_request
authorization_request(const http_request& req,
                      const policy::proxy_body_info& info,
                      std::string key_hash, long long now_ms) {
  actors::proxy_request pr;
  pr.key_hash = std::move(key_hash);
  pr.path = req.path;
  if (auto h = req.header("x-gatehouse-provider"))
    pr.provider_header = std::string{*h};
  pr.model = info.model;
  pr.stream = info.stream;
  pr.client_wants_usage = info.client_wants_usage;
  pr.prompt_chars = static_cast<long long>(info.prompt_chars);
  pr.max_tokens = info.max_tokens;
  pr.now_ms = now_ms;
  pr.now_s = pr.now_ms / 1000;
  return pr;
}

/// One proxied request, from authorization to settlement. After the
/// upstream connection is acquired, every step runs on its loop (one thread).
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(proxy::impl& px, http_request req,
           std::shared_ptr<client_channel> client,
           policy::proxy_body_info info, std::optional<std::string> metadata)
    : px_(px),
      req_(std::move(req)),
      client_(std::move(client)),
      info_(std::move(info)),
      metadata_(std::move(metadata)),
      started_(clock_type::now()),
      started_ms_(px.svc.now_ms()),
      pool_(px.pool_here()),
      sse_(static_cast<std::size_t>(px.svc.cfg.max_sse_event_bytes)) {
  }

  void on_authorized(actors::authorization a) {
    if (!a.ok)
      return client_->respond(error_response(a.denial));
    if (reauthorizing_) {
      // After a cache miss: the budget is reserved now, the request's
      // guardrails were applied before.
      reauthorizing_ = false;
      grant_ = std::move(a.permit);
      grant_.cache_asked = true;
      return send_on();
    }
    grant_ = std::move(a.permit);
    if (grant_.guardrails && !guard_request())
      return;
    if (grant_.cache_ttl_s > 0)
      return look_up_cache();
    send_on();
  }

private:
  void send_on() {
    client_format_ = policy::client_format_of(req_.path);
    if (!prepare_body())
      return;
    attempt(false);
  }

  // -- response cache ------------------------------------------------------

  /// Answers from the cache, or (a miss, or a request the cache does not
  /// keep) authorizes again to reserve the budget, which a request that may
  /// be a hit has not done.
  void look_up_cache() {
    cache_ttl_s_ = grant_.cache_ttl_s;
    if (auto ttl = cache_ttl_header(req_); !ttl)
      return client_->respond(error_response(ttl.error()));
    else if (ttl.value() > 0)
      cache_ttl_s_ = ttl.value();
    std::optional<std::string> canonical;
    if (info_.is_json_object && req_.method == "POST")
      canonical = canonical_body(
        req_.body,
        grant_.rewrite_model ? std::optional{grant_.model} : std::nullopt,
        px_.svc.cfg.max_json_depth);
    if (canonical) {
      cache_key_ = response_cache::make_key(grant_.org_id, target().provider,
                                            grant_.model, req_.method,
                                            req_.target, *canonical);
      auto hit = px_.svc.cache->find(cache_key_, px_.svc.now_ms());
      px_.svc.gw.metrics().record_cache(grant_.org_id, hit != nullptr);
      if (hit)
        return serve_hit(*hit);
      cache_state_ = "miss";
    }
    reauthorizing_ = true;
    auto pr = authorization_request(
      req_, info_, policy::key_hash(req_.header("x-gatehouse-key").value_or("")),
      px_.svc.now_ms());
    pr.cache = cache_header(req_).ok() ? cache_header(req_).value() : 0;
    pr.cache_missed = true;
    px_.svc.gw.authorize(std::move(pr),
                         [self = shared_from_this()](actors::authorization a) {
                           self->on_authorized(std::move(a));
                         });
  }

  /// Replays a cached answer: no provider is called and it costs nothing;
  /// the key's response guardrails still apply.
  void serve_hit(const cached_answer& a) {
    cache_state_ = "hit";
    auto res = replay(a);
    res.headers.emplace_back("X-Gatehouse-Provider", target().provider);
    if (grant_.requested_model)
      res.headers.emplace_back("X-Gatehouse-Model", grant_.model);
    res.headers.emplace_back("X-Gatehouse-Cache", "hit");
    policy::token_usage usage;
    usage.present = true; // no tokens were used
    if (grant_.guardrails && !guard_answer(res, usage))
      return;
    auto logged = clip(res.body, grant_.log_bodies);
    auto status = res.status;
    client_->respond(std::move(res));
    settle(status, "", usage, false, logged ? *logged : "");
  }

  /// Keeps a successful whole JSON answer for the requests that follow.
  void keep_answer(const http_response& res) {
    if (res.status != 200 || !json_content(std::string_view{res.content_type}))
      return;
    px_.svc.cache->put(cache_key_, grant_.org_id, answer_to_keep(res),
                       px_.svc.now_ms() + cache_ttl_s_ * 1000LL);
  }

  const actors::upstream_target& target() const {
    return grant_.targets[target_index_];
  }

  policy::api_format target_format() const {
    return target().anthropic ? policy::api_format::anthropic
                              : policy::api_format::openai;
  }

  /// Builds the body for the current target: translated when the client
  /// speaks a chat API the target does not. False when the request was
  /// answered (a request the translation refuses).
  bool prepare_body() {
    translating_ = client_format_ && *client_format_ != target_format();
    if (translating_) {
      auto r = policy::translate_request(
        req_.body, *client_format_, target_format(),
        grant_.rewrite_model ? std::optional{grant_.model} : std::nullopt,
        px_.svc.cfg.max_json_depth);
      if (!r) {
        refuse_granted(r.error(), {});
        return false;
      }
      body_ = std::move(r.value());
      return true;
    }
    if (grant_.inject_usage && !grant_.rewrite_model && info_.is_json_object
        && req_.body.find("\"stream_options\"") == std::string::npos)
      // The common case of a stream: no second parse to add one member.
      body_ = policy::append_member(req_.body,
                                    R"("stream_options":{"include_usage":true})");
    else
      body_ = policy::rewrite_body(
        req_.body, grant_.rewrite_model ? std::optional{grant_.model}
                                        : std::nullopt,
        grant_.inject_usage, px_.svc.cfg.max_json_depth);
    return true;
  }

  /// Translates a whole answer into the client's format: a 2xx JSON
  /// answer as an answer, any other as an error. False when the answer
  /// was replaced by a refusal (one that cannot be translated).
  bool translate_answer(http_response& res) {
    auto limit = static_cast<std::size_t>(px_.svc.cfg.max_usage_parse_bytes);
    if (res.status >= 200 && res.status <= 299) {
      auto r = res.body.size() > limit
                 ? policy::outcome<std::string>{policy::make_problem(
                     errc::upstream_error, "the provider's answer is too "
                                           "large to translate")}
                 : policy::translate_response(
                     res.body, target_format(), *client_format_,
                     px_.svc.now_ms() / 1000, px_.svc.cfg.max_json_depth);
      if (!r) {
        auto p = r.error();
        p.message = "provider '" + target().provider + "': " + p.message;
        refuse_granted(p, policy::usage_from_body(res.body));
        return false;
      }
      res.body = std::move(r.value());
    } else {
      res.body = policy::translate_error_body(
        std::string_view{res.body}.substr(0, limit), target_format(),
        *client_format_, res.status, px_.svc.cfg.max_json_depth);
    }
    res.content_type = "application/json";
    return true;
  }

  // -- guardrails ----------------------------------------------------------

  /// Answers a granted request without sending it on, and settles it.
  void refuse_granted(const policy::problem& p, policy::token_usage usage) {
    auto res = error_response(p);
    res.headers.emplace_back("X-Gatehouse-Provider", target().provider);
    auto status = res.status;
    client_->respond(std::move(res));
    settle(status, std::string{policy::to_string(p.code)}, usage, false, "");
  }

  void note_hits(std::vector<policy::guardrail_hit>& hits) {
    for (auto& h : hits)
      hits_.push_back(std::move(h));
  }

  /// Applies the request rules of the grant to the body: a block answers
  /// 400 `guardrail_blocked` and nothing goes upstream; redactions replace
  /// the body (also in the log). False when the request was answered.
  /// Bodies that are not a JSON object (forms, files) carry no messages
  /// and pass as they are.
  bool guard_request() {
    auto& rules = *grant_.guardrails;
    if (!rules.applies(policy::guardrail_direction::request)
        || !info_.is_json_object)
      return true;
    auto r = policy::apply_guardrails_to_request(rules, req_.body);
    if (!r) {
      refuse_granted(r.error(), {});
      return false;
    }
    auto& out = r.value();
    note_hits(out.hits);
    if (out.blocked) {
      refuse_granted(policy::make_problem(errc::guardrail_blocked,
                                          "guardrail rule '" + out.blocked_by
                                            + "' blocked the request"),
                     {});
      return false;
    }
    if (out.body)
      req_.body = std::move(*out.body);
    return true;
  }

  /// Applies the response rules of the grant to a whole JSON answer of
  /// status 2xx; false when the answer was replaced by a refusal. An
  /// answer the rules cannot be applied to is not relayed (502).
  bool guard_answer(http_response& res, const policy::token_usage& usage) {
    auto& rules = *grant_.guardrails;
    if (!rules.applies(policy::guardrail_direction::response)
        || res.status < 200 || res.status > 299
        || !json_content(std::string_view{res.content_type}))
      return true;
    auto r = policy::apply_guardrails_to_response(rules, res.body);
    if (!r) {
      refuse_granted(
        policy::make_problem(errc::upstream_error,
                             "provider '" + target().provider
                               + "' sent an answer the guardrails cannot "
                                 "check: "
                               + r.error().message),
        usage);
      return false;
    }
    auto& out = r.value();
    note_hits(out.hits);
    if (out.blocked) {
      refuse_granted(policy::make_problem(errc::guardrail_blocked,
                                          "guardrail rule '" + out.blocked_by
                                            + "' blocked the answer"),
                     usage);
      return false;
    }
    if (out.body)
      res.body = std::move(*out.body);
    return true;
  }

  /// Records the rules that matched on the log entry and in the metrics.
  void record_hits(storage::request_log_record& log) {
    std::uint64_t by_action[3] = {0, 0, 0};
    for (auto& h : hits_)
      by_action[static_cast<int>(h.action)] += h.count;
    px_.svc.gw.metrics().record_guardrail_hits(grant_.org_id, by_action[0],
                                               by_action[1], by_action[2]);
    log.guardrails_json = policy::to_json(hits_).dump();
  }

  /// Moves on to the next provider of the fallback chain, if any.
  bool fall_back() {
    if (target_index_ + 1 >= grant_.targets.size())
      return false;
    if (conn_) {
      conn_->close();
      conn_.reset();
    }
    ++target_index_;
    retried_ = false;
    buffer_.clear();
    head_.reset();
    if (client_format_ && !prepare_body())
      return true; // answered: the translation refused the request
    attempt(false);
    return true;
  }

  void attempt(bool fresh) {
    auto self = shared_from_this();
    auto got = [self](beast::error_code ec, upstream_pool::conn_ptr c) {
      if (ec)
        return self->fail_before_answer(ec);
      // Sent from whichever thread holds the exchange now (often the org
      // actor's, for a pooled connection): nothing else uses the connection,
      // and handing over to an I/O thread first would cost a wake-up.
      self->conn_ = std::move(c);
      self->send();
    };
    if (fresh)
      pool_.connect(target(), std::move(got));
    else
      pool_.acquire(target(), std::move(got));
  }

  /// Header names the client listed in `Connection`: they are for this hop
  /// only.
  std::vector<std::string> connection_options() const {
    std::vector<std::string> out;
    for (auto& [name, value] : req_.headers) {
      if (name != "connection")
        continue;
      std::string_view rest = value;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        auto token = rest.substr(0, comma);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
          token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
          token.remove_suffix(1);
        if (!token.empty())
          out.emplace_back(token);
        rest = comma == std::string_view::npos ? std::string_view{}
                                               : rest.substr(comma + 1);
      }
    }
    return out;
  }

  std::shared_ptr<bhttp::request<bhttp::string_body>> upstream_request() {
    auto& t = target();
    auto hop_only = connection_options();
    auto r = std::make_shared<bhttp::request<bhttp::string_body>>();
    r->version(11);
    r->method_string(req_.method);
    if (translating_)
      r->target(t.base_path + std::string{policy::chat_path(target_format())});
    else
      r->target(t.base_path + req_.target);
    for (auto& field : req_.headers) {
      const std::string& name = field.first;
      if (hop_header(name) || starts_with_ci(name, "x-gatehouse-")
          || name == "accept-encoding")
        continue;
      if (translating_ && !t.anthropic && starts_with_ci(name, "anthropic-"))
        continue;
      if (!t.passthrough && client_credential(name, t.auth_header))
        continue;
      if (std::any_of(hop_only.begin(), hop_only.end(),
                      [&](const std::string& h) { return iequals(h, name); }))
        continue;
      r->insert(name, field.second);
    }
    if (!t.passthrough && !t.auth_value.empty())
      r->set(t.auth_header, t.auth_value);
    r->set(bhttp::field::host, host_header(t));
    if (translating_ && t.anthropic && r->find("anthropic-version") == r->end())
      r->set("anthropic-version",
             std::string{policy::default_anthropic_version});
    // Usage is read from every answer: it must arrive uncompressed.
    r->set(bhttp::field::accept_encoding, "identity");
    r->body() = body_;
    r->keep_alive(true);
    r->prepare_payload();
    return r;
  }

  void send() {
    if (!target().passthrough && !sendable_credential(target())) {
      // Never the bytes of a header line: a stored value that is not a
      // valid header refuses the request instead.
      conn_->close();
      return refuse_target("has a credential that cannot be sent as a "
                           "header; update the provider");
    }
    try {
      request_ = upstream_request();
    } catch (const std::exception& e) {
      conn_->close();
      spdlog::warn("request {}: upstream request refused: {}",
                   req_.request_id, e.what());
      return refuse_target("cannot be sent this request");
    }
    conn_->tcp().expires_after(pool_.timeouts().response);
    conn_->visit([self = shared_from_this()](auto& s) {
      bhttp::async_write(s, *self->request_,
                         [self](beast::error_code ec, std::size_t) {
                           self->on_written(ec);
                         });
    });
  }

  void on_written(beast::error_code ec) {
    if (ec)
      return retry_or_fail(ec);
    head_.emplace();
    head_->body_limit(max_answer_bytes);
    // The answer to a HEAD has no body, whatever its Content-Length says.
    head_->skip(req_.method == "HEAD");
    conn_->visit([self = shared_from_this()](auto& s) {
      bhttp::async_read_header(s, self->buffer_, *self->head_,
                               [self](beast::error_code ec, std::size_t) {
                                 self->on_head(ec);
                               });
    });
  }

  void retry_or_fail(beast::error_code ec) {
    // An idle pooled connection the provider closed meanwhile: try once on
    // a new one, as nothing of the answer has been seen.
    if (conn_ && conn_->uses > 0 && !retried_ && stale_connection_error(ec)) {
      retried_ = true;
      conn_->close();
      conn_.reset();
      buffer_.clear();
      return attempt(true);
    }
    fail_before_answer(ec);
  }

  /// Answers 502 for a provider that cannot take this request.
  void refuse_target(const std::string& why) {
    auto& name = target().provider;
    auto p = policy::make_problem(errc::upstream_error,
                                  "provider '" + name + "' " + why);
    auto res = error_response(p);
    res.headers.emplace_back("X-Gatehouse-Provider", name);
    auto status = res.status;
    client_->respond(std::move(res));
    settle(status, std::string{policy::to_string(p.code)}, {}, false, "");
  }

  void fail_before_answer(beast::error_code ec) {
    // Connection errors and timeouts move on along the fallback chain.
    if (ec != net::error::operation_aborted && fall_back())
      return;
    if (conn_)
      conn_->close();
    auto& name = target().provider;
    policy::problem p;
    if (ec == beast::error::timeout) {
      p = policy::make_problem(
        errc::upstream_timeout,
        "provider '" + name + "' did not answer within "
          + std::to_string(pool_.timeouts().response.count()) + " s");
    } else if (ec == net::error::access_denied) {
      p = policy::make_problem(errc::upstream_error,
                               "provider '" + name
                                 + "' resolves to an address that is not "
                                   "allowed");
    } else {
      p = policy::make_problem(errc::upstream_error,
                               "provider '" + name
                                 + "' is unreachable: " + ec.message());
    }
    auto res = error_response(p);
    res.headers.emplace_back("X-Gatehouse-Provider", name);
    auto status = res.status;
    client_->respond(std::move(res));
    settle(status, std::string{policy::to_string(p.code)}, {}, false, "");
  }

  http_response answer_head(const bhttp::response_header<>& h) {
    http_response res;
    res.status = static_cast<int>(h.result_int());
    res.content_type.clear();
    for (auto& f : h) {
      auto name = f.name_string();
      if (iequals(name, "content-type")) {
        res.content_type = std::string{f.value()};
        continue;
      }
      if (hop_header(name))
        continue;
      res.headers.emplace_back(std::string{name}, std::string{f.value()});
    }
    res.headers.emplace_back("X-Gatehouse-Provider", target().provider);
    if (grant_.requested_model)
      res.headers.emplace_back("X-Gatehouse-Model", grant_.model);
    if (grant_.cache_asked)
      res.headers.emplace_back("X-Gatehouse-Cache",
                               cache_state_ ? cache_state_ : "off");
    return res;
  }

  void on_head(beast::error_code ec) {
    if (ec)
      return retry_or_fail(ec);
    auto& h = head_->get();
    status_ = static_cast<int>(h.result_int());
    if (status_ >= 500 && fall_back())
      return;
    // No other attempt follows: what was sent goes now, not when the
    // answer ends (a long stream would hold it all along).
    request_.reset();
    std::string{}.swap(body_);
    if (req_.method == "HEAD") {
      auto res = answer_head(h);
      recycle(h.keep_alive());
      client_->respond(std::move(res));
      return settle(status_, "", {}, false, "");
    }
    auto ct = h[bhttp::field::content_type];
    if (info_.stream && starts_with_ci(ct, "text/event-stream"))
      return start_stream();
    whole_.emplace(std::move(*head_));
    head_.reset();
    whole_->body_limit(max_answer_bytes);
    read_whole();
  }

  /// Reads the rest of a whole answer piece by piece, so that the timeout
  /// bounds the wait for each piece (as for streams), not the whole body.
  void read_whole() {
    if (whole_->is_done())
      return on_whole({});
    conn_->tcp().expires_after(pool_.timeouts().response);
    conn_->visit([self = shared_from_this()](auto& s) {
      bhttp::async_read_some(s, self->buffer_, *self->whole_,
                             [self](beast::error_code ec, std::size_t) {
                               if (ec)
                                 return self->on_whole(ec);
                               self->read_whole();
                             });
    });
  }

  void on_whole(beast::error_code ec) {
    if (ec) {
      conn_->close();
      auto p = policy::make_problem(
        ec == beast::error::timeout ? errc::upstream_timeout
                                    : errc::upstream_error,
        "provider '" + target().provider + "' broke off its answer: "
          + ec.message());
      auto res = error_response(p);
      res.headers.emplace_back("X-Gatehouse-Provider", target().provider);
      auto status = res.status;
      client_->respond(std::move(res));
      return settle(status, std::string{policy::to_string(p.code)}, {},
                    false, "");
    }
    auto msg = whole_->release();
    auto res = answer_head(msg.base());
    res.body = std::move(msg.body());
    if (translating_ && !translate_answer(res)) {
      recycle(msg.keep_alive());
      return;
    }
    // A bigger answer is relayed whole but not read: its usage is
    // estimated.
    auto usage = res.body.size() <= static_cast<std::size_t>(
                                      px_.svc.cfg.max_usage_parse_bytes)
                   ? policy::usage_from_body(res.body)
                   : policy::token_usage{};
    if (!cache_key_.empty())
      keep_answer(res);
    if (grant_.guardrails && !guard_answer(res, usage)) {
      recycle(msg.keep_alive());
      return;
    }
    auto logged = clip(res.body, grant_.log_bodies);
    recycle(msg.keep_alive());
    auto status = res.status;
    client_->respond(std::move(res));
    settle(status, "", usage, false, logged ? *logged : "");
  }

  /// Returns the connection to the pool when it can carry another request.
  void recycle(bool keep_alive) {
    if (keep_alive && buffer_.size() == 0)
      pool_.release(std::move(conn_));
    else
      conn_->close();
    conn_.reset();
  }

  // -- streaming -----------------------------------------------------------

  void start_stream() {
    stream_.emplace(std::move(*head_));
    head_.reset();
    stream_->body_limit(boost::none);
    if (translating_)
      translator_.emplace(target_format(), *client_format_,
                          px_.svc.now_ms() / 1000, px_.svc.cfg.max_json_depth);
    relay_ = px_.svc.gw.open_stream();
    chunk_.resize(stream_piece_bytes);
    px_.svc.gw.metrics().stream_opened();
    auto self = shared_from_this();
    auto loop = conn_->executor();
    client_->on_disconnect([self, loop](bool shutdown) {
      net::post(loop, [self, shutdown] {
        if (shutdown && self->stream_error_.empty())
          self->stream_error_ = "shutdown";
        self->cancel();
      });
    });
    client_->start_stream(answer_head(stream_->get().base()),
                          [self, loop](bool ok) {
                            net::post(loop, [self, ok] {
                              if (!ok)
                                self->cancel();
                              self->read_chunk();
                            });
                          });
  }

  void read_chunk() {
    if (cancelled_ || cut_ || stream_->is_done())
      return end_stream();
    auto& body = stream_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    conn_->tcp().expires_after(pool_.timeouts().response);
    // read_some: hand over whatever arrived instead of filling the piece
    // (a small piece keeps ten thousand idle streams small).
    conn_->visit([self = shared_from_this()](auto& s) {
      bhttp::async_read_some(s, self->buffer_, *self->stream_,
                             [self](beast::error_code ec, std::size_t) {
                               self->on_chunk(ec);
                             });
    });
  }

  void on_chunk(beast::error_code ec) {
    if (ec == bhttp::error::need_buffer)
      ec = {};
    std::vector<policy::sse_event> events;
    std::size_t got = 0;
    if (!ec)
      got = drain(ec, events);
    if (ec) {
      if (!cancelled_) {
        stream_error_ = ec == beast::error::timeout ? "upstream_timeout"
                                                    : "upstream_error";
        cancelled_ = true;
      }
      return end_stream();
    }
    if (got == 0)
      return read_chunk();
    if (!first_byte_ms_)
      first_byte_ms_ = ms_since(started_);
    auto out = relay_events(events);
    if (sse_.overflowed()) {
      // An event past the limit: the client learns why its stream ends.
      cut_ = true;
      stream_error_ = "upstream_error";
      out += overflow_event();
    }
    if (cut_ || stream_->is_done())
      return end_stream(std::move(out));
    pass_on(std::move(out));
  }

  /// A read hands over one piece of the chunked encoding; the rest of what
  /// the socket delivered (often the whole answer) waits in `buffer_`.
  /// Parsing all of it now, a body piece at a time into the SSE parser,
  /// makes one client write and at most one message to the stream actor
  /// per upstream read. Returns the body bytes fed.
  /// (The parser's `eager` option would do this too, but then a read waits
  /// until the whole body buffer is full.)
  std::size_t drain(beast::error_code& ec,
                    std::vector<policy::sse_event>& events) {
    auto& body = stream_->get().body();
    std::size_t fed = 0;
    bool more = true;
    for (;;) {
      if (auto got = chunk_.size() - body.size; got > 0) {
        sse_.feed(std::string_view{chunk_.data(), got}, events);
        fed += got;
        body.data = chunk_.data();
        body.size = chunk_.size();
      }
      if (!more || stream_->is_done() || buffer_.size() == 0)
        return fed;
      beast::error_code put_ec;
      auto n = stream_->put(buffer_.data(), put_ec);
      buffer_.consume(n);
      if (put_ec == bhttp::error::need_buffer)
        continue; // the piece is full: fed at the top, then parsed on
      if (put_ec && put_ec != bhttp::error::need_more) {
        ec = put_ec;
        return fed;
      }
      // Waiting for the rest of a piece of the encoding, or nothing used:
      // feed what came, then read again.
      more = put_ec != bhttp::error::need_more && n > 0;
    }
  }

  std::string overflow_event() const {
    auto res = error_response(policy::make_problem(
      errc::upstream_error,
      "provider '" + target().provider + "' sent an event over "
        + std::to_string(px_.svc.cfg.max_sse_event_bytes)
        + " bytes; the stream was cut"));
    return "event: error\ndata: " + res.body + "\n\n";
  }

  /// The bytes of complete events to pass on — all of them but the
  /// usage-only chunk requested on the client's behalf; the events wait in
  /// `pending_` for the stream actor, which counts them.
  std::string relay_events(std::vector<policy::sse_event>& events) {
    std::string out;
    if (translator_) {
      // The client gets the translation; the upstream's own events are
      // counted (a translated start reports usage before it is known).
      std::vector<policy::sse_event> translated;
      for (auto& ev : events) {
        translator_->on_event(ev, translated);
        pending_bytes_ += ev.raw.size();
      }
      out = client_bytes(translated);
    } else {
      for (auto& ev : events) {
        if (!(grant_.inject_usage && policy::is_usage_only_chunk(ev)))
          out += ev.raw;
        pending_bytes_ += ev.raw.size();
      }
    }
    if (pending_.empty())
      pending_ = std::move(events);
    else
      pending_.insert(pending_.end(), std::make_move_iterator(events.begin()),
                      std::make_move_iterator(events.end()));
    return out;
  }

  /// The bytes of translated events for the client, without the
  /// usage-only chunk it did not ask for.
  std::string client_bytes(const std::vector<policy::sse_event>& events) {
    std::string out;
    for (auto& ev : events)
      if (!(grant_.inject_usage && policy::is_usage_only_chunk(ev)))
        out += ev.raw;
    return out;
  }

  void pass_on(std::string out) {
    if (out.empty() || cancelled_) {
      account_pending();
      return read_chunk();
    }
    auto self = shared_from_this();
    auto loop = conn_->executor();
    client_->write_chunk(std::move(out), [self, loop](bool ok) {
      net::post(loop, [self, ok] {
        if (!ok)
          self->cancel();
        // The client got its bytes first; counting comes after.
        self->account_pending();
        self->read_chunk();
      });
    });
  }

  /// Hands the events relayed so far to the stream actor once they add up
  /// to `account_batch_bytes`: a stream wakes the actor a few times at most
  /// (the rest rides on the end message), and a stream's events wait in
  /// memory only briefly.
  void account_pending() {
    if (pending_bytes_ < account_batch_bytes || pending_.empty())
      return;
    relay_->account(std::move(pending_));
    pending_.clear();
    pending_bytes_ = 0;
  }

  /// The client went away: stop reading from the provider at once.
  void cancel() {
    if (cancelled_)
      return;
    cancelled_ = true;
    if (conn_)
      conn_->close();
  }

  /// Ends the stream; `last` (the events of the read that ended it) goes to
  /// the client in the same write as the end.
  void end_stream(std::string last = {}) {
    if (ended_)
      return;
    ended_ = true;
    bool complete = !cancelled_ && !cut_ && stream_->is_done();
    if (complete)
      recycle(stream_->get().keep_alive());
    else if (conn_) {
      conn_->close();
      conn_.reset();
    }
    std::vector<policy::sse_event> events;
    sse_.finish(events);
    auto tail = std::move(last) + relay_events(events);
    if (translator_ && !cancelled_ && !cut_) {
      std::vector<policy::sse_event> closing;
      translator_->finish(closing);
      tail += client_bytes(closing);
    }
    client_->finish_stream(cancelled_ ? std::string{} : std::move(tail));
    auto self = shared_from_this();
    relay_->finish(std::move(pending_), [self](actors::stream_summary sum) {
      self->settle_stream(sum);
    });
  }

  void settle_stream(const actors::stream_summary& sum) {
    px_.svc.gw.metrics().stream_closed();
    policy::token_usage usage;
    usage.present = sum.usage_present;
    usage.input_tokens = sum.input_tokens;
    usage.output_tokens = sum.output_tokens;
    if (!usage.present)
      usage.output_tokens = policy::estimate_tokens(
        static_cast<std::size_t>(sum.text_chars));
    settle(status_, stream_error_, usage, true, "");
  }

  // -- accounting ----------------------------------------------------------

  void settle(int status, std::string error_code, policy::token_usage usage,
              bool streamed, const std::string& response_body) {
    actors::settlement s;
    auto& log = s.log;
    log.id = policy::uuid_v7(started_ms_);
    log.org_id = grant_.org_id;
    log.request_id = req_.request_id;
    log.key_id = grant_.key_id;
    log.key_prefix = grant_.key_prefix;
    log.app_id = grant_.app_id;
    log.team_id = grant_.team_id;
    log.user_id = grant_.user_id;
    log.provider = target().provider;
    log.model = grant_.model;
    log.requested_model = grant_.requested_model;
    if (!cache_key_.empty())
      log.cache = std::string{cache_state_};
    log.method = req_.method;
    log.path = req_.path;
    log.env = grant_.env;
    log.status = status;
    if (!error_code.empty())
      log.error_code = std::move(error_code);
    log.usage_estimated = !usage.present;
    log.tokens_in = usage.present ? usage.input_tokens
                                  : policy::estimate_tokens(info_.prompt_chars);
    log.tokens_out = usage.output_tokens;
    log.latency_ms = ms_since(started_);
    if (first_byte_ms_)
      log.ttft_ms = *first_byte_ms_;
    log.stream = streamed;
    if (auto h = req_.header("x-gatehouse-session-id"))
      log.session_id = policy::clean_utf8(*h, max_tag_bytes);
    if (auto h = req_.header("x-gatehouse-user-id"))
      log.end_user = policy::clean_utf8(*h, max_tag_bytes);
    log.metadata_json = metadata_;
    log.request_body = clip(req_.body, grant_.log_bodies);
    if (grant_.log_bodies && !streamed)
      log.response_body = response_body;
    if (!hits_.empty())
      record_hits(log);
    if (translating_)
      log.translated =
        policy::translation_label(*client_format_, target_format());
    log.created_at = policy::rfc3339_ms(started_ms_);
    s.reserved_micros = grant_.reserved_micros;
    s.ledger = grant_.ledger;
    px_.svc.gw.settle(std::move(s));
  }

  proxy::impl& px_;
  http_request req_;
  std::shared_ptr<client_channel> client_;
  policy::proxy_body_info info_;
  std::optional<std::string> metadata_;
  clock_type::time_point started_;
  long long started_ms_;
  upstream_pool& pool_; ///< of the loop the client's session lives on
  actors::grant grant_;
  /// Guardrail rules that matched the request and the answer.
  std::vector<policy::guardrail_hit> hits_;
  /// The response cache: the request's key (empty when not looked up),
  /// "hit" or "miss" (null: off), the seconds an answer is kept, and
  /// whether the authorization under way follows a miss.
  std::string cache_key_;
  const char* cache_state_ = nullptr;
  int cache_ttl_s_ = 0;
  bool reauthorizing_ = false;
  std::string body_;
  upstream_pool::conn_ptr conn_;
  std::shared_ptr<bhttp::request<bhttp::string_body>> request_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::empty_body>> head_;
  std::optional<bhttp::response_parser<bhttp::string_body>> whole_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> stream_;
  /// The read buffer of a stream (absent for whole answers).
  std::vector<char> chunk_;
  policy::sse_parser sse_;
  /// The client's chat format (`/v1/chat/completions`, `/v1/messages`).
  std::optional<policy::api_format> client_format_;
  /// The current target speaks the other format: the request, the answer
  /// and the stream are translated.
  bool translating_ = false;
  std::optional<policy::stream_translator> translator_;
  std::shared_ptr<actors::stream_relay> relay_;
  /// Events relayed but not yet handed to the stream actor, and their size.
  std::vector<policy::sse_event> pending_;
  std::size_t pending_bytes_ = 0;
  std::optional<long long> first_byte_ms_;
  std::string stream_error_;
  int status_ = 0;
  std::size_t target_index_ = 0;
  bool retried_ = false;
  bool cancelled_ = false;
  bool cut_ = false; ///< an SSE event over the limit ended the stream
  bool ended_ = false;
};

} // namespace

bool is_proxy_path(std::string_view path) {
  return path == "/v1" || path.substr(0, 4) == "/v1/";
}

proxy::proxy(services& svc, runtime& rt)
  : impl_(std::make_unique<impl>(svc, rt)) {
}

proxy::~proxy() = default;

void proxy::handle(http_request req, std::shared_ptr<client_channel> client) {
  auto answer = client;
  try {
    handle_request(std::move(req), std::move(client));
  } catch (const std::exception& e) {
    // A bug; one request's bug must not end the node.
    spdlog::error("request {} failed: {}", answer->request_id(), e.what());
    answer->respond(error_response(
      policy::make_problem(errc::internal_error, "internal error")));
  }
}

std::optional<policy::problem>
proxy::check_early(std::string_view path,
                   std::optional<std::string_view> key) const {
  if (!key)
    return policy::make_problem(errc::unauthorized,
                                "missing X-Gatehouse-Key header");
  if (!impl_->svc.gw.key_known(policy::key_hash(*key)))
    return policy::make_problem(errc::unauthorized, "unknown API key");
  return std::nullopt;
}

void proxy::handle_request(http_request req,
                           std::shared_ptr<client_channel> client) {
  auto refuse = [&](policy::problem p) {
    client->respond(error_response(p));
  };
  auto key = req.header("x-gatehouse-key");
  if (!key)
    return refuse(policy::make_problem(errc::unauthorized,
                                       "missing X-Gatehouse-Key header"));
  if (auto why = policy::proxied_path_problem(req.path))
    return refuse(policy::make_problem(errc::invalid_request, *why));
  for (auto [name, header] :
       {std::pair{"x-gatehouse-provider", "X-Gatehouse-Provider"},
        std::pair{"x-gatehouse-session-id", "X-Gatehouse-Session-Id"},
        std::pair{"x-gatehouse-user-id", "X-Gatehouse-User-Id"}})
    if (auto h = req.header(name))
      if (auto p = bad_tag(header, *h, max_tag_bytes))
        return refuse(std::move(*p));
  auto& cfg = impl_->svc.cfg;
  auto key_hash = policy::key_hash(*key);
  std::optional<std::string> metadata;
  if (auto m = req.header("x-gatehouse-metadata")) {
    if (auto p = bad_tag("X-Gatehouse-Metadata", *m, max_metadata_bytes))
      return refuse(std::move(*p));
    nlohmann::json j;
    if (policy::parse_json(*m, cfg.max_json_depth, j)
          != policy::json_fault::none
        || !j.is_object())
      return refuse(policy::make_problem(
        errc::invalid_request,
        "header 'X-Gatehouse-Metadata': must be a JSON object"));
    metadata = dump_json(j);
  }
  if (req.method == "GET" && req.path == "/v1/models")
    return list_models(*impl_, req, std::move(client), std::move(key_hash));
  policy::proxy_body_info info;
  if (!req.body.empty() && json_content(req.header("content-type"))) {
    info = policy::inspect_body(req.body, cfg.max_json_depth);
    if (info.fault != policy::json_fault::none)
      return refuse(policy::make_problem(
        errc::invalid_request,
        std::string{"request body "} + policy::describe(info.fault)));
  } else {
    // A form or a file: priced by its size, so that it cannot pass a
    // budget for free.
    info.prompt_chars = req.body.size();
  }
  auto pr = authorization_request(req, info, std::move(key_hash),
                                  impl_->svc.now_ms());
  if (auto c = cache_header(req); !c)
    return refuse(c.error());
  else if ((pr.cache = c.value()) != 0) {
    auto ttl = cache_ttl_header(req);
    if (!ttl)
      return refuse(ttl.error());
    pr.cache_ttl_s = ttl.value();
  }
  auto ex = std::make_shared<exchange>(*impl_, std::move(req),
                                       std::move(client), std::move(info),
                                       std::move(metadata));
  impl_->svc.gw.authorize(std::move(pr), [ex](actors::authorization a) {
    ex->on_authorized(std::move(a));
  });
}

} // namespace gatehouse::http
