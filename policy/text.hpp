#pragma once

// Text that arrives from clients, tenants' settings and upstreams is hostile:
// these functions make it safe to echo, store and turn into header bytes.

#include <cstddef>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// True if `s` is well-formed UTF-8 (no overlong forms, no surrogates, no
/// code point above U+10FFFF).
bool valid_utf8(std::string_view s);

/// `s` as well-formed UTF-8 without NUL: every invalid byte sequence and
/// every NUL becomes U+FFFD. At most `max_bytes` bytes are kept, cut at a
/// character boundary. Text already clean comes back unchanged.
std::string clean_utf8(std::string_view s,
                       std::size_t max_bytes = std::string::npos);

/// `s` made fit to quote inside an error message: clean UTF-8, control
/// characters shown as U+FFFD, at most `max_bytes` bytes followed by "…"
/// when cut.
std::string echo(std::string_view s, std::size_t max_bytes = 128);

/// True if `s` holds a byte below 0x20 (HTAB included) or DEL: bytes that
/// must never become part of a header line.
bool has_control_bytes(std::string_view s);

/// True if `s` is an HTTP token (RFC 9110 5.6.2): a header name or an
/// authentication scheme.
bool is_http_token(std::string_view s);

} // namespace gatehouse::policy
