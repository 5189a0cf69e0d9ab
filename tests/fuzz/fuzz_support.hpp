#pragma once

// Shared helpers of the libFuzzer harnesses: invariant checks that end the
// run with a readable message, and the checks every echoed text must pass.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "policy/text.hpp"

/// Ends the run (a crash to libFuzzer) when `cond` does not hold.
#define FUZZ_CHECK(cond)                                                       \
  ((cond) ? (void)0 : ::gatehouse::fuzz::fail(#cond, __FILE__, __LINE__))

namespace gatehouse::fuzz {

/// Reports a broken invariant and aborts.
[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "invariant broken: %s at %s:%d\n", what, file, line);
  std::abort();
}

/// True if `s` can be a string of a JSON answer: valid UTF-8 without NUL.
inline bool echo_safe(std::string_view s) {
  return policy::valid_utf8(s) && s.find('\0') == std::string_view::npos;
}

/// Serializes `j` the way answers are written; a throw is a crash.
inline std::string dump(const nlohmann::json& j) {
  return j.dump();
}

/// True if `text` is one complete JSON value.
inline bool parses(std::string_view text) {
  return !nlohmann::json::parse(text, nullptr, false).is_discarded();
}

/// A view of the fuzzer's input.
inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

} // namespace gatehouse::fuzz
