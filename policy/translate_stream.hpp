#pragma once

#include <string>
#include <vector>

#include "policy/json_parse.hpp"
#include "policy/sse.hpp"
#include "policy/translate.hpp"

namespace gatehouse::policy {

/// Translates an SSE answer event by event, from the provider's format to
/// the client's, holding only the little state the target format needs
/// between events (ids, the open content block, the stop reason, usage):
///
/// - OpenAI `chat.completion.chunk` → Anthropic: the first chunk opens
///   `message_start`; text deltas become a text block
///   (`content_block_start`, `content_block_delta` with `text_delta`,
///   `content_block_stop`), each tool call a `tool_use` block whose
///   arguments arrive as `input_json_delta`; the stop reason and the usage
///   (the usage-only chunk) go into `message_delta`, sent with
///   `message_stop` on `[DONE]` (or at the end of a stream that had a
///   finish reason).
/// - Anthropic → OpenAI chunks: `message_start` gives the first chunk
///   (role), text and `input_json_delta` deltas give content and
///   tool-call deltas, `message_delta` the finish reason, `message_stop`
///   the usage-only chunk (`choices: []`) and `data: [DONE]`; `ping` and
///   thinking deltas are dropped.
/// - An upstream error event becomes the client format's error.
///
/// Events that are not JSON (other than `[DONE]`) and comments are
/// dropped. Never throws.
class stream_translator {
public:
  /// A translator from `from` (the provider's format) to `to` (the
  /// client's); `created_s` is the Unix time OpenAI chunks carry.
  stream_translator(api_format from, api_format to, long long created_s,
                    int max_depth = default_json_depth);

  /// Translates one upstream event, appending the client's events (with
  /// their `raw` bytes) to `out`.
  void on_event(const sse_event& ev, std::vector<sse_event>& out);

  /// The upstream stream ended: closes the message if the upstream ended
  /// it without its last event.
  void finish(std::vector<sse_event>& out);

private:
  enum class block { none, text, tool };

  void from_openai(const sse_event& ev, std::vector<sse_event>& out);
  void from_anthropic(const sse_event& ev, std::vector<sse_event>& out);
  void close_block(std::vector<sse_event>& out);
  void end_anthropic_message(std::vector<sse_event>& out);
  void end_openai_stream(std::vector<sse_event>& out);

  api_format from_;
  api_format to_;
  long long created_s_;
  int max_depth_;
  std::string id_;
  std::string model_;
  bool started_ = false;
  bool done_ = false;
  bool finished_ = false; ///< a stop reason was seen
  std::string stop_reason_;
  long long input_tokens_ = 0;
  long long output_tokens_ = 0;
  // OpenAI → Anthropic: the open content block and the next block index.
  block open_ = block::none;
  int next_block_ = 0;
  long long open_tool_ = -1; ///< the OpenAI index of the open tool call
  // Anthropic → OpenAI: tool calls so far and the one being streamed.
  int tools_ = 0;
  int current_tool_ = -1;
};

} // namespace gatehouse::policy
