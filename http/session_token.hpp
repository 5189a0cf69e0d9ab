#pragma once

#include <string>

#include "http/services.hpp"

namespace gatehouse::http {

/// How long a session token is valid.
constexpr long long session_token_lifetime_s = 24 * 3600;

/// A session token (JWT, HS256) for `user_id` acting in `org_id`.
std::string issue_session_token(const services& svc,
                                const std::string& user_id,
                                const std::string& org_id, long long now_s);

} // namespace gatehouse::http
