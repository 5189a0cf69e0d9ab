#include "policy/cluster_auth.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse::policy;

namespace {

constexpr auto init = handshake_role::initiator;
constexpr auto resp = handshake_role::responder;

} // namespace

TEST(cluster_auth, nonces_are_fresh_hex) {
  auto a = handshake_nonce();
  auto b = handshake_nonce();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(cluster_auth, a_proof_verifies_under_the_same_secret_only) {
  auto ni = handshake_nonce();
  auto nr = handshake_nonce();
  auto p = handshake_proof("secret-one", init, ni, nr, "node-a");
  EXPECT_EQ(p.size(), 64u);
  EXPECT_TRUE(verify_handshake_proof("secret-one", init, ni, nr, "node-a", p));
  EXPECT_FALSE(verify_handshake_proof("secret-two", init, ni, nr, "node-a", p));
}

TEST(cluster_auth, a_proof_is_bound_to_role_nonces_and_node) {
  auto ni = handshake_nonce();
  auto nr = handshake_nonce();
  auto p = handshake_proof("s", init, ni, nr, "node-a");
  // Reflected back in the other role.
  EXPECT_FALSE(verify_handshake_proof("s", resp, ni, nr, "node-a", p));
  // Replayed on another handshake.
  EXPECT_FALSE(
    verify_handshake_proof("s", init, ni, handshake_nonce(), "node-a", p));
  EXPECT_FALSE(
    verify_handshake_proof("s", init, handshake_nonce(), nr, "node-a", p));
  // Claimed for another node.
  EXPECT_FALSE(verify_handshake_proof("s", init, ni, nr, "node-b", p));
  // Swapped nonces.
  EXPECT_FALSE(verify_handshake_proof("s", init, nr, ni, "node-a", p));
}

TEST(cluster_auth, malformed_or_equal_nonces_never_verify) {
  auto n = handshake_nonce();
  auto p = handshake_proof("s", init, n, n, "a");
  EXPECT_FALSE(verify_handshake_proof("s", init, n, n, "a", p));
  auto q = handshake_proof("s", init, "x", n, "a");
  EXPECT_FALSE(verify_handshake_proof("s", init, "x", n, "a", q));
  auto r = handshake_proof("s", init, "", "", "a");
  EXPECT_FALSE(verify_handshake_proof("s", init, "", "", "a", r));
  EXPECT_FALSE(
    verify_handshake_proof("s", init, n, handshake_nonce(), "a", ""));
}

TEST(cluster_auth, fingerprints_tell_secrets_apart_and_hide_them) {
  auto a = secret_fingerprint("cluster", "master-key-one");
  EXPECT_EQ(a, secret_fingerprint("cluster", "master-key-one"));
  EXPECT_NE(a, secret_fingerprint("cluster", "master-key-two"));
  // Keyed by the cluster secret: other clusters see other fingerprints.
  EXPECT_NE(a, secret_fingerprint("other", "master-key-one"));
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find("master"), std::string::npos);
}
