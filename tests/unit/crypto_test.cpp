#include "policy/crypto.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <set>
#include <stdexcept>

using namespace gatehouse::policy;

namespace {

using strings = std::vector<std::string>;

} // namespace

TEST(crypto, random_bytes_have_requested_length_and_differ) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  EXPECT_EQ(random_bytes(1).size(), 1u);
  EXPECT_EQ(random_bytes(32).size(), 32u);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i)
    seen.insert(random_bytes(16));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(crypto, hex_round_trip) {
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(to_hex(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(*from_hex("0001abff"), std::string("\x00\x01\xab\xff", 4));
  EXPECT_EQ(*from_hex("0001ABFF"), std::string("\x00\x01\xab\xff", 4));
  EXPECT_EQ(*from_hex(""), "");
  auto r = random_bytes(64);
  EXPECT_EQ(*from_hex(to_hex(r)), r);
}

TEST(crypto, from_hex_rejects_bad_input) {
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_FALSE(from_hex("0g"));
  EXPECT_FALSE(from_hex(" 0"));
}

TEST(crypto, sha256_known_vectors) {
  EXPECT_EQ(sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256("abc").size(), 32u);
}

TEST(crypto, hmac_sha256_rfc4231_vectors) {
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1: 20 bytes of 0x0b.
  EXPECT_EQ(to_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac_sha256("", "data").size(), 32u);
}

TEST(crypto, empty_views_without_storage_are_fine) {
  std::string_view none{};
  EXPECT_EQ(sha256_hex(none), sha256_hex(""));
  EXPECT_EQ(hmac_sha256("key", none), hmac_sha256("key", ""));
  EXPECT_EQ(hmac_sha256(none, none).size(), 32u);
  auto key = random_bytes(32);
  auto sealed = aes_gcm_seal(key, none, none);
  EXPECT_EQ(*aes_gcm_open(key, sealed, ""), "");
}

TEST(crypto, constant_time_equal) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST(crypto, base64url_rfc4648_vectors) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  // The URL-safe alphabet replaces '+' and '/'.
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(*base64url_decode("-_-_"), "\xfb\xff\xbf");
  EXPECT_EQ(*base64url_decode("Zm9vYg"), "foob");
  EXPECT_EQ(*base64url_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(*base64url_decode(""), "");
}

TEST(crypto, base64url_round_trip_all_lengths) {
  for (std::size_t n = 0; n < 70; ++n) {
    auto r = random_bytes(n);
    auto enc = base64url_encode(r);
    EXPECT_EQ(enc.find('='), std::string::npos);
    ASSERT_TRUE(base64url_decode(enc)) << n;
    EXPECT_EQ(*base64url_decode(enc), r);
  }
}

TEST(crypto, base64url_rejects_bad_input) {
  EXPECT_FALSE(base64url_decode("Zm9v+A"));
  EXPECT_FALSE(base64url_decode("Zm9v/A"));
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));
  EXPECT_FALSE(base64url_decode("Zm 9v"));
  // Non-zero leftover bits: "Zh" is not the canonical encoding of "f".
  EXPECT_FALSE(base64url_decode("Zh"));
}

TEST(crypto, aes_gcm_round_trip) {
  auto key = random_bytes(32);
  for (const std::string& pt : strings{
         std::string{}, std::string{"sk-live-123"}, std::string(1000, 'x')}) {
    auto sealed = aes_gcm_seal(key, pt, "org-1");
    EXPECT_EQ(sealed.size(), 12 + pt.size() + 16);
    auto opened = aes_gcm_open(key, sealed, "org-1");
    ASSERT_TRUE(opened);
    EXPECT_EQ(*opened, pt);
  }
}

TEST(crypto, aes_gcm_uses_fresh_nonces) {
  auto key = random_bytes(32);
  auto a = aes_gcm_seal(key, "same", "");
  auto b = aes_gcm_seal(key, "same", "");
  EXPECT_NE(a, b);
  EXPECT_NE(a.substr(0, 12), b.substr(0, 12));
}

TEST(crypto, aes_gcm_detects_tampering_in_every_byte) {
  auto key = random_bytes(32);
  auto sealed = aes_gcm_seal(key, "provider secret", "aad");
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(aes_gcm_open(key, bad, "aad")) << "byte " << i;
  }
}

TEST(crypto, aes_gcm_rejects_wrong_key_aad_and_truncation) {
  auto key = random_bytes(32);
  auto other = random_bytes(32);
  auto sealed = aes_gcm_seal(key, "provider secret", "aad");
  EXPECT_FALSE(aes_gcm_open(other, sealed, "aad"));
  EXPECT_FALSE(aes_gcm_open(key, sealed, "other aad"));
  EXPECT_FALSE(aes_gcm_open(key, sealed, ""));
  EXPECT_FALSE(aes_gcm_open(key, sealed.substr(0, sealed.size() - 1), "aad"));
  EXPECT_FALSE(aes_gcm_open(key, sealed.substr(0, 27), "aad"));
  EXPECT_FALSE(aes_gcm_open(key, "", "aad"));
  EXPECT_FALSE(aes_gcm_open(key.substr(0, 16), sealed, "aad"));
  EXPECT_TRUE(aes_gcm_open(key, sealed, "aad"));
}

TEST(crypto, aes_gcm_seal_rejects_bad_key_size) {
  EXPECT_THROW(aes_gcm_seal(std::string(16, 'k'), "x", ""),
               std::invalid_argument);
  EXPECT_THROW(aes_gcm_seal("", "x", ""), std::invalid_argument);
}
