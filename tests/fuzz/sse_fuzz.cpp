// An upstream's event stream, cut into chunks where the fuzzer chooses, as
// the relay parses it; then every event through the usage readers.
//
// Input: the whole input is the stream; the chunk sizes and the event size
// limit are read from its last bytes (FuzzedDataProvider), so seeds are
// plain SSE text and mutating their end moves the cuts.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_support.hpp"
#include "policy/sse.hpp"
#include "policy/usage.hpp"

namespace {

using namespace gatehouse;
using policy::sse_event;

struct parsed {
  std::vector<sse_event> events;
  bool overflowed = false;
};

parsed parse_chunked(policy::sse_parser& p, std::string_view stream,
                     const std::vector<std::size_t>& cuts) {
  parsed out;
  for (auto n : cuts) {
    n = std::min(n, stream.size());
    p.feed(stream.substr(0, n), out.events);
    stream.remove_prefix(n);
  }
  p.feed(stream, out.events);
  out.overflowed = p.overflowed();
  p.finish(out.events);
  return out;
}

bool same(const std::vector<sse_event>& a, const std::vector<sse_event>& b,
          std::size_t n) {
  if (a.size() < n || b.size() < n)
    return false;
  for (std::size_t i = 0; i < n; ++i)
    if (a[i].event != b[i].event || a[i].data != b[i].data || a[i].id != b[i].id
        || a[i].has_data != b[i].has_data || a[i].raw != b[i].raw)
      return false;
  return true;
}

bool same(const parsed& a, const parsed& b) {
  return a.overflowed == b.overflowed && a.events.size() == b.events.size()
         && same(a.events, b.events, a.events.size());
}

bool no_line_break(std::string_view s) {
  return s.find_first_of("\r\n") == std::string_view::npos;
}

// The blocks' raw bytes, in order, are the stream itself; what is left
// over is blank lines (after a byte order mark when no block came).
void check_raw(std::string_view stream, const std::vector<sse_event>& evs) {
  std::string all;
  for (auto& ev : evs) {
    FUZZ_CHECK(!ev.raw.empty());
    all += ev.raw;
  }
  FUZZ_CHECK(stream.substr(0, all.size()) == all);
  auto rest = stream.substr(all.size());
  if (all.empty() && rest.substr(0, 3) == "\xef\xbb\xbf")
    rest.remove_prefix(3);
  FUZZ_CHECK(rest.find_first_not_of("\r\n") == std::string_view::npos);
}

void check_event(const sse_event& ev) {
  FUZZ_CHECK(no_line_break(ev.event) && no_line_break(ev.id));
  FUZZ_CHECK(ev.id.find('\0') == std::string::npos);
  FUZZ_CHECK(ev.data.find('\r') == std::string::npos);
  if (!ev.has_data)
    FUZZ_CHECK(ev.data.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  FuzzedDataProvider fdp{data, size};
  std::vector<std::size_t> cuts(fdp.ConsumeIntegralInRange<int>(0, 16));
  for (auto& n : cuts)
    n = fdp.ConsumeIntegralInRange<std::size_t>(0, 96);
  // At least 2: a partial byte order mark held to the end of a stream is
  // parsed by finish(), where an overflow cannot be seen (the setting's
  // minimum is 1 KiB).
  auto limit = fdp.ConsumeIntegralInRange<std::size_t>(2, 300);
  std::string stream{fuzz::as_text(data, size)};

  // Without a limit: the same events however the stream is cut.
  parsed whole;
  {
    policy::sse_parser p;
    whole = parse_chunked(p, stream, {});
  }
  FUZZ_CHECK(!whole.overflowed);
  policy::sse_parser reused;
  FUZZ_CHECK(same(whole, parse_chunked(reused, stream, cuts)));
  // After finish the parser starts a new stream.
  FUZZ_CHECK(same(whole, parse_chunked(reused, stream, {})));
  if (stream.size() <= 512) {
    std::vector<std::size_t> bytes(stream.size(), 1);
    policy::sse_parser p;
    FUZZ_CHECK(same(whole, parse_chunked(p, stream, bytes)));
  }
  check_raw(stream, whole.events);

  // With a limit: the same, and the events before an overflow are those of
  // the unlimited parse; no event is longer than the limit.
  policy::sse_parser limited{limit};
  auto capped = parse_chunked(limited, stream, {});
  FUZZ_CHECK(same(capped, parse_chunked(limited, stream, cuts)));
  FUZZ_CHECK(same(whole.events, capped.events, capped.events.size()));
  if (!capped.overflowed)
    FUZZ_CHECK(capped.events.size() == whole.events.size());
  for (auto& ev : capped.events)
    FUZZ_CHECK(ev.raw.size() <= limit);

  policy::stream_usage usage;
  policy::stream_text_counter text;
  for (auto& ev : whole.events) {
    check_event(ev);
    usage.on_event(ev);
    text.on_event(ev);
    policy::is_usage_only_chunk(ev);
  }
  auto u = usage.result();
  FUZZ_CHECK(u.input_tokens >= 0 && u.output_tokens >= 0);
  if (!u.present)
    FUZZ_CHECK(u.input_tokens == 0 && u.output_tokens == 0);
  FUZZ_CHECK(text.chars() <= stream.size());
  return 0;
}
