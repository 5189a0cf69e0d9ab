#pragma once

// One strict way to read JSON text that came from outside: a client's body,
// a header, an upstream's answer.

#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace gatehouse::policy {

/// Nesting depth allowed when no setting says otherwise.
constexpr int default_json_depth = 128;

/// Why a text is not acceptable JSON; `none` when it is.
enum class json_fault { none, nul_byte, too_deep, syntax };

/// A message fragment for `f` ("is not valid JSON", ...), without a
/// subject, e.g. "body " + describe(f).
const char* describe(json_fault f);

/// True if the arrays and objects of JSON text `text` nest deeper than
/// `limit`. Brackets inside strings do not count; the text need not be
/// valid JSON.
bool nests_deeper_than(std::string_view text, int limit);

/// Parses `text` as exactly one JSON value: the whole text (nothing but
/// whitespace after the value), well-formed UTF-8, no NUL byte anywhere,
/// arrays and objects nested at most `max_depth` deep. On failure `out` is
/// left discarded and the fault is returned. Never throws.
///
/// The depth bound matters: nlohmann parses and destroys iteratively but
/// copies, compares and serializes recursively, so a value nested a
/// million deep would overflow the stack later.
json_fault parse_json(std::string_view text, int max_depth,
                      nlohmann::json& out);

/// Same, into an order-preserving value.
json_fault parse_json(std::string_view text, int max_depth,
                      nlohmann::ordered_json& out);

} // namespace gatehouse::policy
