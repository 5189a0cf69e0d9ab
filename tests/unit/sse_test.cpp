#include "policy/sse.hpp"

#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <vector>

using namespace gatehouse::policy;

namespace {

using events = std::vector<sse_event>;

const std::string openai_stream
  = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":"
    "0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":"
    "null}],\"usage\":null}\n"
    "\n"
    ": ping\n"
    "\n"
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":"
    "{\"content\":\"Hel\"},\"finish_reason\":null}],\"usage\":null}\n"
    "\n"
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":"
    "{\"content\":\"lo \\u00e9\\n\"},\"finish_reason\":null}],\"usage\":null}"
    "\n"
    "\n"
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"stop\"}],\"usage\":null}\n"
    "\n"
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
    "12,\"completion_tokens\":3,\"total_tokens\":15}}\n"
    "\n"
    "data: [DONE]\n"
    "\n";

const std::string anthropic_stream
  = "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":"
    "\"message\",\"role\":\"assistant\",\"content\":[],\"model\":"
    "\"claude-3-5-sonnet-20241022\",\"usage\":{\"input_tokens\":25,"
    "\"output_tokens\":1}}}\n"
    "\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
    "{\"type\":\"text\",\"text\":\"\"}}\n"
    "\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"Hello\"}}\n"
    "\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n"
    "\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n"
    "\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n"
    "\n";

std::string to_crlf(const std::string& lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n')
      out += "\r\n";
    else
      out += c;
  }
  return out;
}

std::string to_cr(const std::string& lf) {
  std::string out = lf;
  for (char& c : out)
    if (c == '\n')
      c = '\r';
  return out;
}

events parse_chunks(const std::vector<std::string>& chunks) {
  sse_parser p;
  events out;
  for (const auto& chunk : chunks)
    p.feed(chunk, out);
  p.finish(out);
  return out;
}

events parse_all(const std::string& input) {
  return parse_chunks({input});
}

std::string concat_raw(const events& evs) {
  std::string out;
  for (const auto& ev : evs)
    out += ev.raw;
  return out;
}

void expect_same(const events& got, const events& want,
                 const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].event, want[i].event) << where << " event " << i;
    EXPECT_EQ(got[i].data, want[i].data) << where << " event " << i;
    EXPECT_EQ(got[i].id, want[i].id) << where << " event " << i;
    EXPECT_EQ(got[i].has_data, want[i].has_data) << where << " event " << i;
    EXPECT_EQ(got[i].raw, want[i].raw) << where << " event " << i;
  }
}

// Feeds `input` split at every byte position into two chunks, and byte by
// byte, and checks each result against the single-chunk parse.
void expect_split_invariant(const std::string& input) {
  auto whole = parse_all(input);
  EXPECT_EQ(concat_raw(whole), input);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    auto split = parse_chunks({input.substr(0, cut), input.substr(cut)});
    expect_same(split, whole, "cut at " + std::to_string(cut));
    if (::testing::Test::HasFailure())
      return;
  }
  std::vector<std::string> bytes;
  for (char c : input)
    bytes.emplace_back(1, c);
  expect_same(parse_chunks(bytes), whole, "byte by byte");
}

// Events are also reported as soon as their blank line arrives, before
// finish().
std::size_t events_before_finish(const std::string& input) {
  sse_parser p;
  events out;
  p.feed(input, out);
  return out.size();
}

} // namespace

TEST(sse, openai_stream) {
  auto evs = parse_all(openai_stream);
  ASSERT_EQ(evs.size(), 7u);
  EXPECT_TRUE(evs[0].has_data);
  EXPECT_EQ(evs[0].event, "");
  EXPECT_EQ(evs[0].data.substr(0, 20), "{\"id\":\"chatcmpl-1\",\"");
  EXPECT_EQ(evs[0].raw.back(), '\n');
  // The keep-alive comment is reported, without data, for forwarding.
  EXPECT_FALSE(evs[1].has_data);
  EXPECT_EQ(evs[1].data, "");
  EXPECT_EQ(evs[1].raw, ": ping\n\n");
  EXPECT_EQ(evs[3].data,
            "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":"
            "{\"content\":\"lo \\u00e9\\n\"},\"finish_reason\":null}],"
            "\"usage\":null}");
  EXPECT_EQ(evs[6].data, "[DONE]");
  EXPECT_EQ(evs[6].raw, "data: [DONE]\n\n");
  EXPECT_EQ(concat_raw(evs), openai_stream);
  EXPECT_EQ(events_before_finish(openai_stream), 7u);
}

TEST(sse, openai_stream_any_split) {
  expect_split_invariant(openai_stream);
}

TEST(sse, openai_stream_crlf_any_split) {
  auto crlf = to_crlf(openai_stream);
  auto evs = parse_all(crlf);
  ASSERT_EQ(evs.size(), 7u);
  EXPECT_EQ(evs[1].raw, ": ping\r\n\r\n");
  EXPECT_EQ(evs[6].data, "[DONE]");
  auto lf = parse_all(openai_stream);
  for (std::size_t i = 0; i < evs.size(); ++i)
    EXPECT_EQ(evs[i].data, lf[i].data);
  EXPECT_EQ(events_before_finish(crlf), 7u);
  expect_split_invariant(crlf);
}

TEST(sse, crlf_split_between_cr_and_lf_is_one_break) {
  sse_parser p;
  events out;
  p.feed("data: a\r", out);
  p.feed("\ndata: b\r", out);
  p.feed("\n\r", out);
  // The blank line ended by a bare CR waits for a possible LF.
  EXPECT_TRUE(out.empty());
  p.feed("\n", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "a\nb");
  EXPECT_EQ(out[0].raw, "data: a\r\ndata: b\r\n\r\n");
  p.finish(out);
  EXPECT_EQ(out.size(), 1u);
}

TEST(sse, anthropic_stream_any_split) {
  auto evs = parse_all(anthropic_stream);
  ASSERT_EQ(evs.size(), 7u);
  const char* names[]
    = {"message_start",       "content_block_start", "ping",
       "content_block_delta", "content_block_stop",  "message_delta",
       "message_stop"};
  for (std::size_t i = 0; i < evs.size(); ++i) {
    EXPECT_EQ(evs[i].event, names[i]);
    EXPECT_TRUE(evs[i].has_data);
  }
  EXPECT_EQ(evs[2].data, "{\"type\": \"ping\"}");
  EXPECT_EQ(evs[6].raw,
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  expect_split_invariant(anthropic_stream);
  expect_split_invariant(to_crlf(anthropic_stream));
  expect_split_invariant(to_cr(anthropic_stream));
}

TEST(sse, multi_line_data) {
  auto evs = parse_all("data: first\ndata:second\ndata:  third\ndata\n\n");
  ASSERT_EQ(evs.size(), 1u);
  // One space after the colon is dropped, a second one is kept; "data"
  // without a colon adds an empty line.
  EXPECT_EQ(evs[0].data, "first\nsecond\n third\n");
  EXPECT_TRUE(evs[0].has_data);
}

TEST(sse, empty_data_line_still_has_data) {
  auto evs = parse_all("data:\n\ndata\n\n");
  ASSERT_EQ(evs.size(), 2u);
  for (const auto& ev : evs) {
    EXPECT_TRUE(ev.has_data);
    EXPECT_EQ(ev.data, "");
  }
}

TEST(sse, cr_only_line_endings) {
  std::string input = "event: a\rdata: 1\rdata: 2\r\rdata: 3\r\r";
  auto evs = parse_all(input);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].event, "a");
  EXPECT_EQ(evs[0].data, "1\n2");
  EXPECT_EQ(evs[0].raw, "event: a\rdata: 1\rdata: 2\r\r");
  EXPECT_EQ(evs[1].event, "");
  EXPECT_EQ(evs[1].data, "3");
  EXPECT_EQ(concat_raw(evs), input);
  // The first event is known to be complete once the next byte arrives;
  // the last one only at finish().
  EXPECT_EQ(events_before_finish(input), 1u);
  expect_split_invariant(input);
}

TEST(sse, mixed_line_endings) {
  std::string input = "data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r";
  auto evs = parse_all(input);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].data, "a\nb\nc");
  EXPECT_EQ(evs[1].data, "d");
  expect_split_invariant(input);
}

TEST(sse, lf_cr_is_two_breaks) {
  // "\n\r" is an LF followed by a CR: two line breaks, so a blank line.
  auto evs = parse_all("data: x\n\rdata: y\n\n");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].data, "x");
  EXPECT_EQ(evs[0].raw, "data: x\n\r");
  EXPECT_EQ(evs[1].data, "y");
}

TEST(sse, comments) {
  auto evs = parse_all(": ping\n\n:\n\ndata: x\n: inside\ndata: y\n\n");
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_FALSE(evs[0].has_data);
  EXPECT_EQ(evs[0].raw, ": ping\n\n");
  EXPECT_FALSE(evs[1].has_data);
  EXPECT_EQ(evs[1].raw, ":\n\n");
  EXPECT_EQ(evs[2].data, "x\ny");
}

TEST(sse, event_and_unknown_fields) {
  auto evs = parse_all("event: first\nevent: second\nretry: 10\nfoo: bar\n"
                       "Data: ignored\ndata: kept\n\ndata: next\n\n");
  ASSERT_EQ(evs.size(), 2u);
  // The last event field wins and does not carry over to the next block.
  EXPECT_EQ(evs[0].event, "second");
  EXPECT_EQ(evs[0].data, "kept");
  EXPECT_EQ(evs[1].event, "");
  // A block with only unknown fields is still reported.
  auto unknown = parse_all("retry: 1000\n\n");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_FALSE(unknown[0].has_data);
  EXPECT_EQ(unknown[0].raw, "retry: 1000\n\n");
}

TEST(sse, field_without_space_and_colons_in_value) {
  auto evs = parse_all("event:x\ndata:{\"a\": \"b:c\"}\n\n");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].event, "x");
  EXPECT_EQ(evs[0].data, "{\"a\": \"b:c\"}");
  auto bare = parse_all("event\ndata: y\n\n");
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_EQ(bare[0].event, "");
}

TEST(sse, last_event_id_persists) {
  std::string with_nul = "id: badXid\ndata: d\n\n";
  with_nul[7] = '\0';
  auto evs = parse_all("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"
                       "id: 7\n\n");
  ASSERT_EQ(evs.size(), 4u);
  EXPECT_EQ(evs[0].id, "1");
  EXPECT_EQ(evs[1].id, "1");
  EXPECT_EQ(evs[2].id, "");
  EXPECT_EQ(evs[3].id, "7");
  EXPECT_FALSE(evs[3].has_data);
  sse_parser p;
  events out;
  p.feed("id: 5\n\n", out);
  p.feed(std::string_view{with_nul.data(), with_nul.size()}, out);
  ASSERT_EQ(out.size(), 2u);
  // An id containing NUL is ignored.
  EXPECT_EQ(out[1].id, "5");
}

TEST(sse, byte_order_mark) {
  std::string input = "\xef\xbb\xbf"
                      "data: x\n\ndata: y\n\n";
  auto evs = parse_all(input);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].data, "x");
  EXPECT_EQ(evs[0].raw, "\xef\xbb\xbf"
                        "data: x\n\n");
  expect_split_invariant(input);
  // Only a leading BOM is skipped; one later is part of the line.
  auto later = parse_all("data: x\n\n\xef\xbb\xbf"
                         "data: y\n\n");
  ASSERT_EQ(later.size(), 2u);
  EXPECT_FALSE(later[1].has_data);
  // Only one BOM is skipped: a second makes the first line an unknown
  // field.
  auto twice = parse_all("\xef\xbb\xbf\xef\xbb\xbf"
                         "data: y\n\n");
  ASSERT_EQ(twice.size(), 1u);
  EXPECT_FALSE(twice[0].has_data);
}

TEST(sse, partial_byte_order_mark_is_content) {
  std::string input = "\xef\xbb"
                      "data: x\n\n";
  auto evs = parse_all(input);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_FALSE(evs[0].has_data);
  EXPECT_EQ(evs[0].raw, input);
  expect_split_invariant(input);
  // A stream that ends inside what could have been a BOM.
  auto tiny = parse_all("\xef");
  ASSERT_EQ(tiny.size(), 1u);
  EXPECT_EQ(tiny[0].raw, "\xef");
  EXPECT_TRUE(parse_all("\xef\xbb\xbf").empty());
}

TEST(sse, stray_blank_lines_join_the_next_block) {
  std::string input = "\n\r\n\rdata: a\n\n\n\ndata: b\n\n";
  auto evs = parse_all(input);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].raw, "\n\r\n\rdata: a\n\n");
  EXPECT_EQ(evs[1].raw, "\n\ndata: b\n\n");
  EXPECT_EQ(concat_raw(evs), input);
  expect_split_invariant(input);
}

TEST(sse, finish_emits_pending_content_only) {
  // Missing blank line at the end: the block is still reported.
  auto evs = parse_all("data: a\n\ndata: b\n");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[1].data, "b");
  EXPECT_EQ(evs[1].raw, "data: b\n");
  // An unterminated last line counts as a line.
  auto cut = parse_all("data: a\ndata: {\"par");
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].data, "a\n{\"par");
  EXPECT_EQ(cut[0].raw, "data: a\ndata: {\"par");
  auto comment = parse_all(": bye");
  ASSERT_EQ(comment.size(), 1u);
  EXPECT_FALSE(comment[0].has_data);
  // Blank lines alone are no content.
  EXPECT_TRUE(parse_all("data: a\n\n\n\r\n").size() == 1u);
  EXPECT_TRUE(parse_all("").empty());
  EXPECT_TRUE(parse_all("\n\n").empty());
}

TEST(sse, parser_is_reusable_after_finish) {
  sse_parser p;
  events out;
  p.feed("id: 3\ndata: a", out);
  p.finish(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, "3");
  p.feed("\xef\xbb\xbf"
         "data: b\n\n",
         out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].data, "b");
  EXPECT_EQ(out[1].id, "");
  p.finish(out);
  EXPECT_EQ(out.size(), 2u);
}

TEST(sse, empty_feeds_change_nothing) {
  sse_parser p;
  events out;
  p.feed("", out);
  p.feed("data: a\r", out);
  p.feed("", out);
  p.feed("\n", out);
  p.feed("", out);
  p.feed("\r", out);
  p.feed("", out);
  p.feed("\n", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].raw, "data: a\r\n\r\n");
}

TEST(sse, null_bytes_and_binary_pass_through) {
  std::string input("data: a\0b\xff\n\n", 12);
  auto evs = parse_all(input);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].data, std::string("a\0b\xff", 4));
  EXPECT_EQ(evs[0].raw, input);
}

TEST(sse, random_streams_parse_the_same_in_any_chunking) {
  // A small alphabet makes every kind of line break, field and BOM
  // fragment likely; the seed keeps the test deterministic.
  const std::string alphabet[]
    = {"\r",    "\n", "\r\n", ":",    " ",    "d",    "data",
       "event", "id", "x",    "\xef", "\xbb", "\xbf", "data: y"};
  unsigned state = 12345;
  auto next = [&state](unsigned bound) {
    state = state * 1103515245u + 12345u;
    return (state >> 16) % bound;
  };
  for (int round = 0; round < 400; ++round) {
    std::string input;
    auto parts = next(30);
    for (unsigned i = 0; i < parts; ++i)
      input += alphabet[next(std::size(alphabet))];
    auto whole = parse_all(input);
    std::vector<std::string> chunks;
    for (std::size_t pos = 0; pos < input.size();) {
      auto len = 1 + next(4);
      chunks.push_back(input.substr(pos, len));
      pos += len;
    }
    expect_same(parse_chunks(chunks), whole, "input " + input);
    // Every byte is in some event, except trailing blank lines (and a BOM
    // with nothing after it) that form no block.
    auto raw = concat_raw(whole);
    ASSERT_EQ(input.substr(0, raw.size()), raw);
    auto rest = input.substr(raw.size());
    if (raw.empty() && rest.substr(0, 3) == "\xef\xbb\xbf")
      rest = rest.substr(3);
    EXPECT_EQ(rest.find_first_not_of("\r\n"), std::string::npos) << input;
    for (const auto& ev : whole)
      EXPECT_FALSE(ev.raw.empty());
    if (HasFailure())
      return;
  }
}

TEST(sse_parser, a_block_over_the_limit_stops_the_parser) {
  sse_parser p{64};
  std::vector<sse_event> out;
  p.feed("data: short\n\n", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(p.overflowed());
  // An endless line: nothing is kept past the limit.
  for (int i = 0; i < 100; ++i)
    p.feed(std::string(32, 'x'), out);
  EXPECT_TRUE(p.overflowed());
  EXPECT_EQ(out.size(), 1u);
  p.feed("\n\ndata: later\n\n", out);
  EXPECT_EQ(out.size(), 1u);
  // finish resets, keeping the limit.
  p.finish(out);
  EXPECT_FALSE(p.overflowed());
  p.feed(std::string(100, '\n'), out);
  EXPECT_TRUE(p.overflowed()) << "stray blank lines count too";
}

TEST(sse_parser, a_block_at_the_limit_passes) {
  std::string block = "data: " + std::string(50, 'y') + "\n\n";
  sse_parser p{block.size()};
  std::vector<sse_event> out;
  p.feed(block, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].raw, block);
  EXPECT_FALSE(p.overflowed());
}

TEST(sse_parser, a_crlf_that_crosses_the_limit_stops_the_parser) {
  // "data: x\r" fills the limit; the LF of its CRLF is one byte too many.
  sse_parser p{8};
  std::vector<sse_event> out;
  p.feed("data: x\r", out);
  EXPECT_FALSE(p.overflowed());
  p.feed("\n\r\n", out);
  EXPECT_TRUE(p.overflowed());
  for (auto& ev : out)
    EXPECT_LE(ev.raw.size(), 8u);
}
