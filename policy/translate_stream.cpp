#include "policy/translate_stream.hpp"

#include <exception>
#include <utility>

#include "policy/translate_json.hpp"
#include "policy/translate_response.hpp"

namespace gatehouse::policy {

namespace {

using translate_detail::count_of;
using translate_detail::dump;
using translate_detail::member;
using translate_detail::ojson;
using translate_detail::str_of;

void emit(std::vector<sse_event>& out, const char* name, std::string data) {
  sse_event ev;
  ev.has_data = true;
  if (name) {
    ev.event = name;
    ev.raw = std::string{"event: "} + name + "\ndata: " + data + "\n\n";
  } else {
    ev.raw = "data: " + data + "\n\n";
  }
  ev.data = std::move(data);
  out.push_back(std::move(ev));
}

void emit_anthropic(std::vector<sse_event>& out, const char* name,
                    const ojson& data) {
  emit(out, name, dump(data));
}

std::string error_message(const ojson& e) {
  auto m = str_of(e, "message");
  return m.empty() ? std::string{"the provider's stream failed"} : m;
}

} // namespace

stream_translator::stream_translator(api_format from, api_format to,
                                     long long created_s, int max_depth)
  : from_(from), to_(to), created_s_(created_s), max_depth_(max_depth) {}

void stream_translator::on_event(const sse_event& ev,
                                 std::vector<sse_event>& out) {
  if (done_ || !ev.has_data)
    return;
  try {
    if (from_ == to_)
      out.push_back(ev);
    else if (from_ == api_format::openai)
      from_openai(ev, out);
    else
      from_anthropic(ev, out);
  } catch (const std::exception&) {
    // An event that cannot be read is dropped, as a comment would be.
  }
}

void stream_translator::finish(std::vector<sse_event>& out) {
  if (done_ || !finished_ || from_ == to_)
    return;
  try {
    if (to_ == api_format::anthropic)
      end_anthropic_message(out);
    else
      end_openai_stream(out);
  } catch (const std::exception&) {
  }
}

// -- OpenAI → Anthropic ------------------------------------------------------

void stream_translator::close_block(std::vector<sse_event>& out) {
  if (open_ == block::none)
    return;
  emit_anthropic(out, "content_block_stop",
                 {{"type", "content_block_stop"}, {"index", next_block_ - 1}});
  open_ = block::none;
  open_tool_ = -1;
}

void stream_translator::end_anthropic_message(std::vector<sse_event>& out) {
  close_block(out);
  emit_anthropic(
    out, "message_delta",
    {{"type", "message_delta"},
     {"delta",
      {{"stop_reason",
        stop_reason_.empty() ? std::string{"end_turn"} : stop_reason_},
       {"stop_sequence", nullptr}}},
     {"usage",
      {{"input_tokens", input_tokens_}, {"output_tokens", output_tokens_}}}});
  emit_anthropic(out, "message_stop", {{"type", "message_stop"}});
  done_ = true;
}

void stream_translator::from_openai(const sse_event& ev,
                                    std::vector<sse_event>& out) {
  if (ev.data == "[DONE]") {
    if (started_)
      end_anthropic_message(out);
    done_ = true;
    return;
  }
  ojson chunk;
  if (parse_json(ev.data, max_depth_, chunk) != json_fault::none
      || !chunk.is_object())
    return;
  if (auto* e = member(chunk, "error")) {
    auto type = str_of(*e, "type");
    emit_anthropic(out, "error",
                   {{"type", "error"},
                    {"error",
                     {{"type", type.empty() ? "api_error" : type},
                      {"message", error_message(*e)}}}});
    done_ = true;
    return;
  }
  if (!started_) {
    started_ = true;
    id_ = str_of(chunk, "id");
    model_ = str_of(chunk, "model");
    emit_anthropic(
      out, "message_start",
      {{"type", "message_start"},
       {"message",
        {{"id", id_},
         {"type", "message"},
         {"role", "assistant"},
         {"model", model_},
         {"content", ojson::array()},
         {"stop_reason", nullptr},
         {"stop_sequence", nullptr},
         {"usage", {{"input_tokens", 0}, {"output_tokens", 0}}}}}});
  }
  if (auto* u = member(chunk, "usage"); u && u->is_object()) {
    input_tokens_ = count_of(*u, "prompt_tokens");
    output_tokens_ = count_of(*u, "completion_tokens");
  }
  auto* choices = member(chunk, "choices");
  if (!choices || !choices->is_array() || choices->empty())
    return;
  auto& choice = (*choices)[0];
  if (auto* delta = member(choice, "delta"); delta && delta->is_object()) {
    auto text = str_of(*delta, "content");
    if (text.empty())
      text = str_of(*delta, "refusal");
    if (!text.empty()) {
      if (open_ != block::text) {
        close_block(out);
        emit_anthropic(out, "content_block_start",
                       {{"type", "content_block_start"},
                        {"index", next_block_},
                        {"content_block", {{"type", "text"}, {"text", ""}}}});
        ++next_block_;
        open_ = block::text;
      }
      emit_anthropic(out, "content_block_delta",
                     {{"type", "content_block_delta"},
                      {"index", next_block_ - 1},
                      {"delta", {{"type", "text_delta"}, {"text", text}}}});
    }
    if (auto* calls = member(*delta, "tool_calls"); calls && calls->is_array())
      for (auto& call : *calls) {
        auto index = count_of(call, "index");
        const ojson none;
        auto* fnp = member(call, "function");
        const ojson& fn = fnp ? *fnp : none;
        auto id = str_of(call, "id");
        if (open_ != block::tool || !id.empty() || index != open_tool_) {
          close_block(out);
          if (id.empty())
            id = "call_" + std::to_string(index);
          emit_anthropic(out, "content_block_start",
                         {{"type", "content_block_start"},
                          {"index", next_block_},
                          {"content_block",
                           {{"type", "tool_use"},
                            {"id", id},
                            {"name", str_of(fn, "name")},
                            {"input", ojson::object()}}}});
          ++next_block_;
          open_ = block::tool;
          open_tool_ = index;
        }
        auto args = str_of(fn, "arguments");
        if (!args.empty())
          emit_anthropic(
            out, "content_block_delta",
            {{"type", "content_block_delta"},
             {"index", next_block_ - 1},
             {"delta",
              {{"type", "input_json_delta"}, {"partial_json", args}}}});
      }
  }
  if (auto* r = member(choice, "finish_reason"); r && r->is_string()) {
    close_block(out);
    finished_ = true;
    stop_reason_ = std::string{translate_stop_reason(
      r->get<std::string>(), api_format::openai, api_format::anthropic)};
  }
}

// -- Anthropic → OpenAI ------------------------------------------------------

void stream_translator::end_openai_stream(std::vector<sse_event>& out) {
  ojson usage{{"prompt_tokens", input_tokens_},
              {"completion_tokens", output_tokens_},
              {"total_tokens", input_tokens_ + output_tokens_}};
  emit(out, nullptr,
       dump({{"id", id_},
             {"object", "chat.completion.chunk"},
             {"created", created_s_},
             {"model", model_},
             {"choices", ojson::array()},
             {"usage", std::move(usage)}}));
  emit(out, nullptr, "[DONE]");
  done_ = true;
}

void stream_translator::from_anthropic(const sse_event& ev,
                                       std::vector<sse_event>& out) {
  ojson data;
  if (parse_json(ev.data, max_depth_, data) != json_fault::none
      || !data.is_object())
    return;
  auto type = str_of(data, "type");
  if (type.empty())
    type = ev.event;
  auto chunk = [&](ojson delta, ojson finish) {
    emit(out, nullptr,
         dump({{"id", id_},
               {"object", "chat.completion.chunk"},
               {"created", created_s_},
               {"model", model_},
               {"choices",
                ojson::array({{{"index", 0},
                               {"delta", std::move(delta)},
                               {"logprobs", nullptr},
                               {"finish_reason", std::move(finish)}}})}}));
  };
  if (type == "message_start") {
    const ojson none;
    auto* m = member(data, "message");
    const ojson& msg = m ? *m : none;
    id_ = str_of(msg, "id");
    model_ = str_of(msg, "model");
    if (auto* u = member(msg, "usage")) {
      input_tokens_ = count_of(*u, "input_tokens")
                      + count_of(*u, "cache_creation_input_tokens")
                      + count_of(*u, "cache_read_input_tokens");
      output_tokens_ = count_of(*u, "output_tokens");
    }
    started_ = true;
    chunk({{"role", "assistant"}, {"content", ""}}, nullptr);
  } else if (type == "content_block_start") {
    const ojson none;
    auto* b = member(data, "content_block");
    const ojson& cb = b ? *b : none;
    auto kind = str_of(cb, "type");
    current_tool_ = -1;
    if (kind == "tool_use") {
      current_tool_ = tools_++;
      chunk({{"tool_calls", ojson::array({{{"index", current_tool_},
                                           {"id", str_of(cb, "id")},
                                           {"type", "function"},
                                           {"function",
                                            {{"name", str_of(cb, "name")},
                                             {"arguments", ""}}}}})}},
            nullptr);
    } else if (kind == "text") {
      auto text = str_of(cb, "text");
      if (!text.empty())
        chunk({{"content", text}}, nullptr);
    }
  } else if (type == "content_block_delta") {
    const ojson none;
    auto* d = member(data, "delta");
    const ojson& delta = d ? *d : none;
    auto kind = str_of(delta, "type");
    if (kind == "text_delta") {
      auto text = str_of(delta, "text");
      if (!text.empty())
        chunk({{"content", text}}, nullptr);
    } else if (kind == "input_json_delta" && current_tool_ >= 0) {
      auto part = str_of(delta, "partial_json");
      if (!part.empty())
        chunk({{"tool_calls",
                ojson::array({{{"index", current_tool_},
                               {"function", {{"arguments", part}}}}})}},
              nullptr);
    }
  } else if (type == "content_block_stop") {
    current_tool_ = -1;
  } else if (type == "message_delta") {
    if (auto* u = member(data, "usage")) {
      if (u->contains("output_tokens"))
        output_tokens_ = count_of(*u, "output_tokens");
      if (u->contains("input_tokens") && member(*u, "input_tokens"))
        input_tokens_ = count_of(*u, "input_tokens")
                        + count_of(*u, "cache_creation_input_tokens")
                        + count_of(*u, "cache_read_input_tokens");
    }
    const ojson none;
    auto* d = member(data, "delta");
    auto reason = str_of(d ? *d : none, "stop_reason");
    if (!reason.empty()) {
      finished_ = true;
      stop_reason_ = std::string{translate_stop_reason(
        reason, api_format::anthropic, api_format::openai)};
      chunk(ojson::object(), stop_reason_);
    }
  } else if (type == "message_stop") {
    end_openai_stream(out);
  } else if (type == "error") {
    const ojson none;
    auto* e = member(data, "error");
    const ojson& err = e ? *e : none;
    auto etype = str_of(err, "type");
    emit(out, nullptr,
         dump({{"error",
                {{"message", error_message(err)},
                 {"type", etype.empty() ? "api_error" : etype},
                 {"param", nullptr},
                 {"code", nullptr}}}}));
    done_ = true;
  }
}

} // namespace gatehouse::policy
