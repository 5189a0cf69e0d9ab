#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// Removes leading and trailing ASCII whitespace.
std::string_view trim(std::string_view s);

/// True if `s` is well-formed UTF-8 (no overlong forms, surrogates or code
/// points beyond U+10FFFF).
bool is_valid_utf8(std::string_view s);

/// Checks an e-mail address: at most 254 bytes, exactly one '@', a local
/// part of 1..64 bytes, a domain with a dot and no empty label, no spaces
/// or control characters. Returns an error message, nullopt if valid.
std::optional<std::string> validate_email(std::string_view email);

/// Returns the canonical form of an address: trimmed, ASCII-lowercased.
std::string normalize_email(std::string_view email);

/// Checks a password: 8..72 bytes (bcrypt ignores anything beyond 72) and
/// no NUL byte. Returns an error message, nullopt if valid.
std::optional<std::string> validate_password(std::string_view password);

/// Checks an organization slug: 3..63 characters of `[a-z0-9-]`, starting
/// and ending with a letter or digit, without "--". Returns an error
/// message, nullopt if valid.
std::optional<std::string> validate_org_slug(std::string_view slug);

/// Checks a display name: valid UTF-8, 1..100 characters (code points)
/// after trimming, no control characters. Returns an error message, nullopt
/// if valid.
std::optional<std::string> validate_display_name(std::string_view name);

/// Checks a provider name: `[a-z0-9][a-z0-9_-]{0,63}`. Returns an error
/// message, nullopt if valid.
std::optional<std::string> validate_provider_name(std::string_view name);

/// True if `s` is a UUID in canonical 8-4-4-4-12 hex form (either case).
bool is_uuid(std::string_view s);

/// Derives a URL slug from a name: lowercase ASCII letters and digits, each
/// run of other characters becomes one '-', no leading or trailing '-', at
/// most 63 characters; "app" if nothing is left.
std::string slugify(std::string_view name);

/// Returns the `n`-th variant of a slug for resolving clashes ("base-2",
/// "base-3", ...), shortening `base` so the result stays within 63
/// characters. `n` <= 1 returns `base` itself.
std::string numbered_slug(std::string_view base, int n);

} // namespace gatehouse::policy
