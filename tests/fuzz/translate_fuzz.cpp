// Format translation of hostile bytes: a request body, a whole answer, an
// error body and an SSE stream, each translated OpenAI -> Anthropic and
// back. Nothing may throw or crash; what a translator answers (a body or
// events) is UTF-8 JSON the client can read, and a refusal is a problem
// with a message.
//
// Input: the first byte picks the direction (bit 0) and the model override
// (bit 1); the rest is the body, and also the stream.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "policy/sse.hpp"
#include "policy/translate.hpp"
#include "policy/translate_request.hpp"
#include "policy/translate_response.hpp"
#include "policy/translate_stream.hpp"

namespace {

using namespace gatehouse;
using policy::api_format;

void check_body(const policy::outcome<std::string>& out) {
  if (out) {
    FUZZ_CHECK(fuzz::echo_safe(out.value()));
    FUZZ_CHECK(fuzz::parses(out.value()));
  } else {
    FUZZ_CHECK(!out.error().message.empty());
    FUZZ_CHECK(fuzz::echo_safe(out.error().message));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  auto from = (data[0] & 1) ? api_format::anthropic : api_format::openai;
  auto to = from == api_format::openai ? api_format::anthropic
                                       : api_format::openai;
  std::optional<std::string> model;
  if (data[0] & 2)
    model = "fuzz-model";
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  check_body(policy::translate_request(body, from, to, model));
  check_body(policy::translate_response(body, from, to, 1'700'000'000));
  auto err = policy::translate_error_body(body, from, to, 429);
  FUZZ_CHECK(fuzz::echo_safe(err));
  FUZZ_CHECK(fuzz::parses(err));

  // The same bytes as the provider's stream, in two reads.
  policy::sse_parser parser{64 * 1024};
  std::vector<policy::sse_event> in;
  auto half = body.size() / 2;
  parser.feed(body.substr(0, half), in);
  parser.feed(body.substr(half), in);
  parser.finish(in);
  policy::stream_translator tr{from, to, 1'700'000'000};
  std::vector<policy::sse_event> out;
  for (const auto& ev : in)
    tr.on_event(ev, out);
  tr.finish(out);
  for (const auto& ev : out) {
    FUZZ_CHECK(fuzz::echo_safe(ev.raw));
    if (ev.data != "[DONE]" && !ev.data.empty())
      FUZZ_CHECK(fuzz::parses(ev.data));
  }
  return 0;
}
