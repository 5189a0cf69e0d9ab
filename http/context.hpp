#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "http/message.hpp"
#include "http/services.hpp"
#include "policy/role.hpp"
#include "storage/records.hpp"

namespace gatehouse::storage {
class store;
} // namespace gatehouse::storage

namespace gatehouse::http {

/// What a handler gets: the request, its route parameters and parsed body,
/// the authenticated caller, and the services to act with.
struct request_context {
  request_context(const http_request& r, services& s, storage::store* st,
                  std::map<std::string, std::string> p)
    : req(r), svc(s), store(st), params(std::move(p)) {
  }

  const http_request& req;
  services& svc;
  storage::store* store = nullptr; ///< null on inline routes
  std::map<std::string, std::string> params;
  nlohmann::json body = nlohmann::json::object();
  std::string client_ip;
  long long now_s = 0;
  long long now_ms = 0;

  // Set for session-token routes.
  std::optional<storage::user_record> user;
  std::optional<storage::org_record> org;
  std::optional<storage::membership_record> membership;
  policy::role role = policy::role::viewer;

  /// The audit identity of the caller.
  actors::audit_ctx who() const;

  /// The audit identity of user `user_id` acting through this request
  /// (sign-up and accepting an invitation: no session names them yet).
  actors::audit_ctx who_as(const std::string& user_id) const;

  /// The request's storage connection.
  storage::store& db() const { return *store; }

  /// Route parameter `name`.
  const std::string& param(const std::string& name) const {
    return params.at(name);
  }
};

} // namespace gatehouse::http
