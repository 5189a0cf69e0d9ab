#include "policy/password.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace gatehouse::policy;

TEST(password, hash_has_bcrypt_shape_and_cost) {
  auto h = hash_password("correct horse", 4);
  EXPECT_EQ(h.size(), 60u);
  EXPECT_EQ(h.substr(0, 7), "$2b$04$");
  auto h5 = hash_password("correct horse", 5);
  EXPECT_EQ(h5.substr(0, 7), "$2b$05$");
}

TEST(password, verify_right_and_wrong) {
  auto h = hash_password("correct horse", 4);
  EXPECT_TRUE(verify_password("correct horse", h));
  EXPECT_FALSE(verify_password("correct horsf", h));
  EXPECT_FALSE(verify_password("Correct horse", h));
  EXPECT_FALSE(verify_password("", h));
  EXPECT_FALSE(verify_password("correct horse ", h));
}

TEST(password, salts_differ) {
  auto a = hash_password("same password", 4);
  auto b = hash_password("same password", 4);
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify_password("same password", a));
  EXPECT_TRUE(verify_password("same password", b));
}

TEST(password, verifies_known_bcrypt_hash) {
  // The crypt_blowfish test vector for "U*U" (cost 5, $2a$).
  EXPECT_TRUE(verify_password(
    "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
  EXPECT_FALSE(verify_password(
    "U*V", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
}

TEST(password, verify_rejects_unusable_hashes) {
  EXPECT_FALSE(verify_password("password", ""));
  EXPECT_FALSE(verify_password("password", "plaintext"));
  EXPECT_FALSE(verify_password("password", "$2b$04$short"));
  // A DES-style setting must never be honoured.
  EXPECT_FALSE(verify_password("password", "abJnggxhB/yWI"));
  // SHA-512 crypt is not accepted either.
  EXPECT_FALSE(verify_password("password", "$6$salt$hash"));
  auto h = hash_password("password", 4);
  h[40] = h[40] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(verify_password("password", h));
}

TEST(password, rejects_bad_cost_and_nul) {
  EXPECT_THROW(hash_password("password", 3), std::invalid_argument);
  EXPECT_THROW(hash_password("password", 15), std::invalid_argument);
  EXPECT_THROW(hash_password(std::string("pass\0word", 9), 4),
               std::invalid_argument);
  auto h = hash_password("pass", 4);
  EXPECT_FALSE(verify_password(std::string("pass\0word", 9), h));
}
