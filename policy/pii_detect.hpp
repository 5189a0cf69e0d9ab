#pragma once

// Built-in detectors of personal data and secrets in UTF-8 text, for the
// guardrails. Each one finds candidates with a fixed RE2 expression or a
// single pass over the text (linear time, no backtracking) and then checks
// them (Luhn, mod-97, number ranges, an address parser), so a number that
// merely looks like a card or an IBAN is not reported.

#include <cstddef>
#include <string_view>
#include <vector>

namespace gatehouse::policy {

/// A byte range [begin, end) of a text.
struct text_span {
  std::size_t begin = 0;
  std::size_t end = 0;

  friend bool operator==(const text_span& a, const text_span& b) {
    return a.begin == b.begin && a.end == b.end;
  }
};

/// The built-in detectors.
enum class pii_kind {
  /// `local@domain.tld`: a local part of letters, digits and `._%+-`, a
  /// domain of dot-separated labels ending in a TLD of 2+ letters.
  email,
  /// International numbers (`+` and 8..15 digits) and national numbers of
  /// 10..11 digits written with at least one separator (space, dot, dash)
  /// or parentheses. A bare run of digits is never a phone number (order
  /// numbers, card numbers); dotted quads that read as IPv4 are not either.
  phone,
  /// 13..19 digits, single spaces or dashes allowed between them, passing
  /// the Luhn check, not all the same digit, not preceded by `+`.
  payment_card,
  /// An IBAN of a country that issues them, at that country's length, with
  /// valid mod-97 check digits; upper case, optionally in groups of four.
  iban,
  /// A US social security number `AAA-GG-SSSS` (or with spaces), outside
  /// the never-issued ranges: area 000, 666 and 900..999, group 00, serial
  /// 0000.
  us_ssn,
  /// A dotted-quad IPv4 address (not part of a longer dotted number) or an
  /// IPv6 address in any RFC 4291 text form containing a digit.
  ip_address,
  /// A credential: provider key formats (`sk-…`, `sk-ant-…`, AWS
  /// `AKIA…`/`ASIA…`, GitHub `ghp_…`/`github_pat_…`, Slack `xox?-…`, Google
  /// `AIza…`, JWTs, PEM private keys) and high-entropy tokens (see
  /// `is_high_entropy_token`).
  secret,
};

/// Number of `pii_kind` values.
constexpr std::size_t pii_kind_count = 7;

/// Appends to `out` the spans of `text` that `kind` detects, in text order,
/// not overlapping one another. Linear in the size of `text`; never throws
/// anything but `std::bad_alloc`.
void find_pii(pii_kind kind, std::string_view text,
              std::vector<text_span>& out);

/// True if the digits of `s` (other characters ignored) pass the Luhn
/// check; false when `s` has no digit.
bool luhn_valid(std::string_view s);

/// True if `s` (spaces ignored) is an IBAN: a known country code, that
/// country's length, only upper-case letters and digits, and mod-97
/// check digits.
bool iban_valid(std::string_view s);

/// True if `s`, nine digits with or without separators, is a US SSN
/// outside the never-issued ranges.
bool us_ssn_valid(std::string_view s);

/// The rule for secrets without a known prefix: at least 32 characters of
/// `[A-Za-z0-9_+=-]`, with an upper-case letter, a lower-case letter and
/// two digits, and a Shannon entropy of at least 4.2 bits per character.
/// Hex digests, UUIDs and identifiers in one case do not qualify.
bool is_high_entropy_token(std::string_view token);

} // namespace gatehouse::policy
