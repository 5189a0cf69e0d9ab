#include "policy/jwt.hpp"

#include "policy/crypto.hpp"

#include <limits>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

namespace gatehouse::policy {

namespace {

using json = nlohmann::json;

// The header is fixed, so its encoding is too.
const std::string& encoded_header() {
  static const std::string header
    = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  return header;
}

std::optional<json> decode_json_object(std::string_view part) {
  auto raw = base64url_decode(part);
  if (!raw)
    return std::nullopt;
  auto doc = json::parse(*raw, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return std::nullopt;
  return doc;
}

std::optional<std::string> string_claim(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_string())
    return std::nullopt;
  auto value = it->get<std::string>();
  if (value.empty())
    return std::nullopt;
  return value;
}

std::optional<long long> integer_claim(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end())
    return std::nullopt;
  if (it->is_number_unsigned()) {
    auto v = it->get<unsigned long long>();
    if (v > static_cast<unsigned long long>(
          std::numeric_limits<long long>::max()))
      return std::nullopt;
    return static_cast<long long>(v);
  }
  if (it->is_number_integer())
    return it->get<long long>();
  return std::nullopt;
}

} // namespace

std::string sign_jwt(const claims& c, std::string_view secret) {
  if (secret.empty())
    throw std::invalid_argument("JWT secret must not be empty");
  json payload = {
    {"sub", c.sub},
    {"org", c.org},
    {"iat", c.iat},
    {"exp", c.exp},
  };
  std::string token = encoded_header();
  token += '.';
  token += base64url_encode(payload.dump());
  auto sig = hmac_sha256(secret, token);
  token += '.';
  token += base64url_encode(sig);
  return token;
}

std::optional<claims> verify_jwt(std::string_view token,
                                 std::string_view secret, long long now_s) {
  if (secret.empty())
    return std::nullopt;
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos)
    return std::nullopt;
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos
      || token.find('.', dot2 + 1) != std::string_view::npos)
    return std::nullopt;
  auto header_part = token.substr(0, dot1);
  auto payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
  auto sig_part = token.substr(dot2 + 1);
  // Check the algorithm before anything else: "none" and every other
  // algorithm are refused outright.
  auto header = decode_json_object(header_part);
  if (!header)
    return std::nullopt;
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || *alg != "HS256")
    return std::nullopt;
  auto sig = base64url_decode(sig_part);
  if (!sig)
    return std::nullopt;
  auto expected = hmac_sha256(secret, token.substr(0, dot2));
  if (!constant_time_equal(*sig, expected))
    return std::nullopt;
  auto payload = decode_json_object(payload_part);
  if (!payload)
    return std::nullopt;
  auto sub = string_claim(*payload, "sub");
  auto org = string_claim(*payload, "org");
  auto iat = integer_claim(*payload, "iat");
  auto exp = integer_claim(*payload, "exp");
  if (!sub || !org || !iat || !exp)
    return std::nullopt;
  if (*exp <= now_s)
    return std::nullopt;
  return claims{std::move(*sub), std::move(*org), *iat, *exp};
}

} // namespace gatehouse::policy
