#include "http/session_token.hpp"

#include "policy/jwt.hpp"

namespace gatehouse::http {

std::string issue_session_token(const services& svc,
                                const std::string& user_id,
                                const std::string& org_id, long long now_s) {
  policy::claims c{user_id, org_id, now_s, now_s + session_token_lifetime_s};
  return policy::sign_jwt(c, svc.secrets.jwt_secret);
}

} // namespace gatehouse::http
