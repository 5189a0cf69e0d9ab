#include "policy/sse.hpp"

#include <utility>

namespace gatehouse::policy {

namespace {

constexpr std::string_view utf8_bom = "\xef\xbb\xbf";

} // namespace

sse_parser::sse_parser(std::size_t max_event_bytes)
  : max_event_bytes_(max_event_bytes) {
}

void sse_parser::feed(std::string_view bytes, std::vector<sse_event>& out) {
  if (overflowed_)
    return;
  if (!started_) {
    // The byte order mark may itself arrive split across chunks.
    while (!bytes.empty() && head_.size() < utf8_bom.size()
           && bytes.front() == utf8_bom[head_.size()]) {
      head_ += bytes.front();
      bytes.remove_prefix(1);
    }
    if (head_.size() == utf8_bom.size()) {
      started_ = true;
      raw_ = std::move(head_);
      head_.clear();
      if (over_limit())
        return;
    } else if (!bytes.empty()) {
      started_ = true;
      std::string held = std::move(head_);
      head_.clear();
      consume(held, out);
    } else {
      return;
    }
  }
  consume(bytes, out);
}

void sse_parser::finish(std::vector<sse_event>& out) {
  if (overflowed_) {
    *this = sse_parser{max_event_bytes_};
    return;
  }
  if (!started_) {
    started_ = true;
    std::string held = std::move(head_);
    head_.clear();
    consume(held, out);
  }
  if (dispatch_pending_) {
    dispatch(out);
  } else if (!line_.empty()) {
    process_field(line_);
    dispatch(out);
  } else if (has_content_) {
    dispatch(out);
  }
  *this = sse_parser{max_event_bytes_};
}

bool sse_parser::over_limit() {
  if (raw_.size() <= max_event_bytes_)
    return false;
  // Nothing of the oversized block is kept or reported.
  overflowed_ = true;
  raw_ = std::string{};
  line_ = std::string{};
  data_ = std::string{};
  event_.clear();
  return true;
}

void sse_parser::consume(std::string_view bytes, std::vector<sse_event>& out) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes[i] == '\n') {
        // The second half of a CRLF: same line break, no new line.
        raw_ += '\n';
        ++i;
        if (over_limit())
          return;
        if (dispatch_pending_) {
          dispatch_pending_ = false;
          dispatch(out);
        }
        continue;
      }
      if (dispatch_pending_) {
        dispatch_pending_ = false;
        dispatch(out);
      }
    }
    auto pos = bytes.find_first_of("\r\n", i);
    if (pos == std::string_view::npos) {
      raw_.append(bytes.substr(i));
      line_.append(bytes.substr(i));
      over_limit();
      return;
    }
    raw_.append(bytes.substr(i, pos - i + 1));
    line_.append(bytes.substr(i, pos - i));
    if (over_limit())
      return;
    bool cr = bytes[pos] == '\r';
    i = pos + 1;
    after_cr_ = cr;
    if (!line_.empty()) {
      process_field(line_);
      line_.clear();
    } else if (has_content_) {
      if (cr)
        dispatch_pending_ = true;
      else
        dispatch(out);
    }
  }
}

void sse_parser::process_field(std::string_view line) {
  has_content_ = true;
  if (line.front() == ':')
    return;
  auto colon = line.find(':');
  std::string_view name = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
  }
  if (name == "event") {
    event_.assign(value);
  } else if (name == "data") {
    data_.append(value);
    data_ += '\n';
    has_data_ = true;
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos)
      last_id_.assign(value);
  }
}

void sse_parser::dispatch(std::vector<sse_event>& out) {
  sse_event ev;
  ev.event = std::move(event_);
  if (has_data_)
    data_.pop_back();
  ev.data = std::move(data_);
  ev.id = last_id_;
  ev.has_data = has_data_;
  ev.raw = std::move(raw_);
  out.push_back(std::move(ev));
  event_.clear();
  data_.clear();
  raw_.clear();
  has_data_ = false;
  has_content_ = false;
}

} // namespace gatehouse::policy
