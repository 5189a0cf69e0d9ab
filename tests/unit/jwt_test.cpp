#include "policy/jwt.hpp"

#include "policy/crypto.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <algorithm>
#include <stdexcept>

using namespace gatehouse::policy;

namespace {

using strings = std::vector<std::string>;

} // namespace

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef";
constexpr long long now = 1'780'000'000;

claims sample() {
  return claims{"user-1", "org-1", now, now + 86400};
}

std::string sign_raw(const std::string& header_json,
                     const std::string& payload_json,
                     const std::string& key = secret) {
  auto signing_input = base64url_encode(header_json) + "."
                       + base64url_encode(payload_json);
  return signing_input + "."
         + base64url_encode(hmac_sha256(key, signing_input));
}

const std::string hs256 = R"({"alg":"HS256","typ":"JWT"})";

std::string payload_json(long long exp = now + 60) {
  return R"({"sub":"u","org":"o","iat":)" + std::to_string(now) + R"(,"exp":)"
         + std::to_string(exp) + "}";
}

} // namespace

TEST(jwt, round_trip) {
  auto token = sign_jwt(sample(), secret);
  auto c = verify_jwt(token, secret, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->sub, "user-1");
  EXPECT_EQ(c->org, "org-1");
  EXPECT_EQ(c->iat, now);
  EXPECT_EQ(c->exp, now + 86400);
}

TEST(jwt, header_is_hs256_jwt) {
  auto token = sign_jwt(sample(), secret);
  auto header = base64url_decode(token.substr(0, token.find('.')));
  ASSERT_TRUE(header);
  EXPECT_EQ(*header, R"({"alg":"HS256","typ":"JWT"})");
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  EXPECT_EQ(token.find('='), std::string::npos);
}

TEST(jwt, externally_signed_token_verifies) {
  auto token = sign_raw(hs256, payload_json());
  auto c = verify_jwt(token, secret, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->sub, "u");
  EXPECT_EQ(c->org, "o");
}

TEST(jwt, rfc7515_style_hs256_token_verifies) {
  // A token with the header fields in another order and no typ.
  auto token = sign_raw(R"({"alg":"HS256"})", payload_json());
  EXPECT_TRUE(verify_jwt(token, secret, now));
}

TEST(jwt, expiry) {
  auto c = sample();
  auto token = sign_jwt(c, secret);
  EXPECT_TRUE(verify_jwt(token, secret, c.exp - 1));
  EXPECT_FALSE(verify_jwt(token, secret, c.exp));
  EXPECT_FALSE(verify_jwt(token, secret, c.exp + 1));
}

TEST(jwt, wrong_secret) {
  auto token = sign_jwt(sample(), secret);
  EXPECT_FALSE(verify_jwt(token, secret + "x", now));
  EXPECT_FALSE(verify_jwt(token, "", now));
  EXPECT_THROW(sign_jwt(sample(), ""), std::invalid_argument);
}

TEST(jwt, tampered_payload_or_signature) {
  auto token = sign_jwt(sample(), secret);
  auto dot1 = token.find('.');
  auto dot2 = token.rfind('.');
  // Swap in a payload claiming another org, keep the signature.
  auto forged_payload = base64url_encode(
    R"({"sub":"user-1","org":"org-2","iat":1780000000,"exp":1780086400})");
  auto forged = token.substr(0, dot1 + 1) + forged_payload + token.substr(dot2);
  EXPECT_FALSE(verify_jwt(forged, secret, now));
  // Flip one character of every part.
  for (std::size_t i : {std::size_t{0}, dot1 + 1, dot2 + 1, token.size() - 2}) {
    auto bad = token;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify_jwt(bad, secret, now)) << i;
  }
  // Truncated or extended signature.
  EXPECT_FALSE(verify_jwt(token.substr(0, token.size() - 1), secret, now));
  EXPECT_FALSE(verify_jwt(token + "A", secret, now));
  EXPECT_FALSE(verify_jwt(token.substr(0, dot2 + 1), secret, now));
}

TEST(jwt, alg_none_and_other_algs_are_refused) {
  auto unsigned_token = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "."
                        + base64url_encode(payload_json()) + ".";
  EXPECT_FALSE(verify_jwt(unsigned_token, secret, now));
  // Even correctly HMAC-signed, a header that names another algorithm fails.
  for (const std::string& alg :
       strings{R"({"alg":"none"})", R"({"alg":"HS384"})", R"({"alg":"RS256"})",
               R"({"alg":"hs256"})", R"({"alg":null})", R"({"typ":"JWT"})",
               R"({"alg":["HS256"]})"})
    EXPECT_FALSE(verify_jwt(sign_raw(alg, payload_json()), secret, now)) << alg;
}

TEST(jwt, malformed_tokens) {
  for (const std::string& bad :
       strings{"", ".", "..", "a.b", "a.b.c.d", "abc", "!!.!!.!!"})
    EXPECT_FALSE(verify_jwt(bad, secret, now)) << bad;
  // Valid signature over non-JSON or non-object parts.
  EXPECT_FALSE(verify_jwt(sign_raw("not json", payload_json()), secret, now));
  EXPECT_FALSE(verify_jwt(sign_raw(hs256, "not json"), secret, now));
  EXPECT_FALSE(verify_jwt(sign_raw(hs256, "[1,2]"), secret, now));
  EXPECT_FALSE(verify_jwt(sign_raw("\"HS256\"", payload_json()), secret, now));
}

TEST(jwt, missing_or_mistyped_claims) {
  const std::string e = std::to_string(now + 60);
  const std::string i = std::to_string(now);
  for (const std::string& payload : strings{
         R"({"org":"o","iat":)" + i + R"(,"exp":)" + e + "}",
         R"({"sub":"u","iat":)" + i + R"(,"exp":)" + e + "}",
         R"({"sub":"u","org":"o","exp":)" + e + "}",
         R"({"sub":"u","org":"o","iat":)" + i + "}",
         R"({"sub":1,"org":"o","iat":)" + i + R"(,"exp":)" + e + "}",
         R"({"sub":"u","org":null,"iat":)" + i + R"(,"exp":)" + e + "}",
         R"({"sub":"","org":"o","iat":)" + i + R"(,"exp":)" + e + "}",
         R"({"sub":"u","org":"o","iat":)" + i + R"(,"exp":")" + e + "\"}",
         R"({"sub":"u","org":"o","iat":)" + i + R"(,"exp":)" + e + ".5}",
         R"({"sub":"u","org":"o","iat":)" + i
           + R"(,"exp":99999999999999999999999})",
       })
    EXPECT_FALSE(verify_jwt(sign_raw(hs256, payload), secret, now)) << payload;
}
