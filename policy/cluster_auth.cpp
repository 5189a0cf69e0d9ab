#include "policy/cluster_auth.hpp"

#include "policy/crypto.hpp"

namespace gatehouse::policy {

namespace {

constexpr std::size_t nonce_bytes = 32;

bool is_nonce(std::string_view s) {
  if (s.size() != nonce_bytes * 2)
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

} // namespace

std::string handshake_nonce() {
  return to_hex(random_bytes(nonce_bytes));
}

std::string handshake_proof(std::string_view secret, handshake_role role,
                            std::string_view initiator_nonce,
                            std::string_view responder_nonce,
                            std::string_view node_id) {
  std::string data = "gatehouse-cluster-v1\n";
  data += role == handshake_role::initiator ? "initiator\n" : "responder\n";
  data += initiator_nonce;
  data += '\n';
  data += responder_nonce;
  data += '\n';
  data += node_id;
  return to_hex(hmac_sha256(secret, data));
}

bool verify_handshake_proof(std::string_view secret, handshake_role role,
                            std::string_view initiator_nonce,
                            std::string_view responder_nonce,
                            std::string_view node_id, std::string_view proof) {
  if (!is_nonce(initiator_nonce) || !is_nonce(responder_nonce)
      || initiator_nonce == responder_nonce)
    return false;
  auto expected
    = handshake_proof(secret, role, initiator_nonce, responder_nonce, node_id);
  return constant_time_equal(expected, proof);
}

std::string secret_fingerprint(std::string_view cluster_secret,
                               std::string_view secret) {
  auto inner = hmac_sha256(secret, "gatehouse-cluster-secret-check-v1");
  return to_hex(hmac_sha256(cluster_secret, inner));
}

} // namespace gatehouse::policy
