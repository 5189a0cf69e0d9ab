#pragma once

// The pure parts of the cluster handshake. A node that connects (the
// initiator) and the node it reached (the responder) each send a fresh
// nonce; each proves that it holds the cluster secret with an HMAC-SHA256
// over both nonces, its role and its node id, so that no proof can be
// replayed on another connection or reflected back in the other role.
// Nodes also compare a fingerprint of the secrets every member must share
// (master key, session signing secret): an HMAC of a fixed label under each,
// which reveals nothing of the secrets themselves.

#include <string>
#include <string_view>

namespace gatehouse::policy {

/// Which side of a handshake a proof speaks for.
enum class handshake_role { initiator, responder };

/// A fresh handshake nonce: 32 random bytes as 64 hex characters.
std::string handshake_nonce();

/// The proof (64 hex characters) that the node `node_id`, in `role`, holds
/// `secret`, for the handshake of these two nonces.
std::string handshake_proof(std::string_view secret, handshake_role role,
                            std::string_view initiator_nonce,
                            std::string_view responder_nonce,
                            std::string_view node_id);

/// True if `proof` is the expected proof (compared in constant time).
/// Nonces that are not 64 hex characters never verify.
bool verify_handshake_proof(std::string_view secret, handshake_role role,
                            std::string_view initiator_nonce,
                            std::string_view responder_nonce,
                            std::string_view node_id, std::string_view proof);

/// The fingerprint of one shared secret (64 hex characters), keyed by the
/// cluster secret too, so that whoever sees it without the cluster secret
/// cannot test guesses of `secret` against it.
std::string secret_fingerprint(std::string_view cluster_secret,
                               std::string_view secret);

} // namespace gatehouse::policy
