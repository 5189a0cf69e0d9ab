#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy {

/// One block of a Server-Sent Events stream, as ended by a blank line.
struct sse_event {
  /// The value of the last `event:` field of the block; "" when none.
  std::string event;
  /// The values of the block's `data:` lines, joined by '\n'.
  std::string data;
  /// The last event ID of the stream when this block ended. As in
  /// EventSource, an `id:` field persists into the following blocks until
  /// another `id:` changes it ("" resets it).
  std::string id;
  /// True if the block had at least one `data` line (possibly empty).
  bool has_data = false;
  /// The exact bytes of this block as received: from the first byte after
  /// the previous block up to and including the blank line that ended it.
  /// Stray blank lines before a block and a leading byte order mark belong
  /// to the block that follows them.
  std::string raw;
};

/// An incremental Server-Sent Events parser following the WHATWG
/// EventSource parsing rules, for relaying and inspecting upstream streams.
///
/// Lines end in CRLF, LF or CR, and a CRLF split across two chunks is one
/// line break. Lines starting with ':' are comments. `field:value` drops one
/// space after the colon; a line without a colon is a field with an empty
/// value; fields other than `event`, `data` and `id` are ignored. A blank
/// line ends a block.
///
/// Unlike EventSource, which drops blocks without data, every block with at
/// least one line (comments included, e.g. ": ping") is reported, so that a
/// relay can forward it byte for byte. A block ended by a bare CR is
/// reported once the next byte (or `finish`) shows that no LF follows.
class sse_parser {
public:
  /// A parser that gives up on a block (its raw bytes, stray blank lines
  /// before it included) longer than `max_event_bytes`: see `overflowed`.
  explicit sse_parser(
    std::size_t max_event_bytes = std::numeric_limits<std::size_t>::max());

  /// Parses the next chunk of the stream and appends every block it
  /// completes to `out`.
  void feed(std::string_view bytes, std::vector<sse_event>& out);

  /// Ends the stream. A pending block without its closing blank line is
  /// appended to `out` (its last line counted even without a line break)
  /// only if it has content; pending blank lines alone are dropped. The
  /// parser is then ready for a new stream.
  void finish(std::vector<sse_event>& out);

  /// True once a block outgrew the limit; the parser then ignores the rest
  /// of the stream (a relay should cut it) until `finish`.
  bool overflowed() const {
    return overflowed_;
  }

private:
  bool over_limit();

  void consume(std::string_view bytes, std::vector<sse_event>& out);
  void end_line(std::vector<sse_event>& out);
  void process_field(std::string_view line);
  void dispatch(std::vector<sse_event>& out);

  // Bytes of a possible byte order mark held back at the stream start.
  std::string head_;
  bool started_ = false;
  // The current block's bytes and the current line (without its break).
  std::string raw_;
  std::string line_;
  // The previous byte was a CR ending a line: an LF now is part of it.
  bool after_cr_ = false;
  // A block ended by a bare CR waits for a possible LF before dispatch.
  bool dispatch_pending_ = false;
  // The block has at least one non-blank line.
  bool has_content_ = false;
  std::string event_;
  std::string data_;
  bool has_data_ = false;
  std::string last_id_;
  std::size_t max_event_bytes_;
  bool overflowed_ = false;
};

} // namespace gatehouse::policy
