// An upstream's answer, read for usage: a whole JSON answer, and the same
// bytes as the data of a streamed event of each kind the readers know.
//
// Input: the whole input is the answer; its last byte also picks the event
// name, so seeds are plain JSON.

#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "policy/json_parse.hpp"
#include "policy/usage.hpp"

namespace {

using namespace gatehouse;
using json = nlohmann::json;

// A count as the readers take it: a non-negative integer, or a float
// without fraction below 9e18.
std::optional<long long> count(const json& usage, const char* key) {
  auto it = usage.find(key);
  if (it == usage.end())
    return std::nullopt;
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<long long>::max()))
      return std::nullopt;
    return static_cast<long long>(v);
  }
  if (it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    return v < 0 ? std::nullopt : std::optional<long long>{v};
  }
  if (it->is_number_float()) {
    double v = it->get<double>();
    if (!std::isfinite(v) || v < 0 || v >= 9.0e18 || std::floor(v) != v)
      return std::nullopt;
    return static_cast<long long>(v);
  }
  return std::nullopt;
}

// The usage of a whole answer as nlohmann reads it (usage_from_body runs
// on simdjson when it accepts the text).
policy::token_usage expected_usage(std::string_view text) {
  policy::token_usage u;
  json doc;
  if (policy::parse_json(text, policy::default_json_depth, doc)
        != policy::json_fault::none
      || !doc.is_object() || !doc.contains("usage")
      || !doc["usage"].is_object())
    return u;
  const auto& usage = doc["usage"];
  for (auto [in_key, out_key] : {std::pair{"prompt_tokens", "completion_tokens"},
                                 std::pair{"input_tokens", "output_tokens"}}) {
    auto in = count(usage, in_key);
    auto out = count(usage, out_key);
    if (in || out) {
      u.present = true;
      u.input_tokens = in.value_or(0);
      u.output_tokens = out.value_or(0);
      break;
    }
  }
  return u;
}

void check_usage(const policy::token_usage& u) {
  FUZZ_CHECK(u.input_tokens >= 0 && u.output_tokens >= 0);
  if (!u.present)
    FUZZ_CHECK(u.input_tokens == 0 && u.output_tokens == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static const std::array<const char*, 6> names
    = {"",
       "message_start",
       "message_delta",
       "response.completed",
       "content_block_delta",
       "response.output_text.delta"};
  FuzzedDataProvider fdp{data, size};
  auto name = names[fdp.ConsumeIntegralInRange<std::size_t>(0, 5)];
  std::string text{fuzz::as_text(data, size)};

  auto body = policy::usage_from_body(text);
  check_usage(body);
  auto expected = expected_usage(text);
  FUZZ_CHECK(body.present == expected.present
             && body.input_tokens == expected.input_tokens
             && body.output_tokens == expected.output_tokens);
  auto doc = json::parse(text, nullptr, false);
  if (body.present)
    FUZZ_CHECK(doc.is_object() && doc["usage"].is_object());

  auto chars = policy::count_chars(text);
  FUZZ_CHECK(chars <= text.size());
  if (policy::valid_utf8(text) && !text.empty())
    FUZZ_CHECK(chars >= (text.size() + 3) / 4);
  auto estimate = policy::estimate_tokens(chars);
  auto n = static_cast<long long>(chars);
  FUZZ_CHECK(estimate * 4 >= n && estimate * 4 < n + 4);

  policy::sse_event ev;
  ev.event = name;
  ev.data = text;
  ev.has_data = true;
  policy::stream_usage stream;
  stream.on_event(ev);
  check_usage(stream.result());
  stream.on_event(ev);
  check_usage(stream.result());

  policy::stream_text_counter counter;
  counter.on_event(ev);
  FUZZ_CHECK(counter.chars() <= text.size());

  if (policy::is_usage_only_chunk(ev)) {
    FUZZ_CHECK(doc.is_object() && doc["usage"].is_object());
    FUZZ_CHECK(doc["choices"].is_array() && doc["choices"].empty());
  }
  ev.has_data = false;
  FUZZ_CHECK(!policy::is_usage_only_chunk(ev));
  return 0;
}
