// A client's request body, as the proxy reads and rewrites it: the strict
// JSON parse, inspection for model, stream and prompt size, and the rewrite
// that swaps the model and asks for streamed usage.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "policy/json_parse.hpp"
#include "policy/proxy_body.hpp"

namespace {

using namespace gatehouse;
using json = nlohmann::json;
using policy::json_fault;

constexpr int max_depth = policy::default_json_depth;

int depth_of(const json& j) {
  int deepest = 0;
  if (j.is_structured())
    for (const auto& v : j)
      deepest = std::max(deepest, depth_of(v));
  return j.is_structured() ? deepest + 1 : 0;
}

// The strict parse: accepted text is one value within the depth, which
// serializes and reads back the same.
json check_parse(std::string_view text, int depth, json_fault& fault) {
  json j;
  fault = policy::parse_json(text, depth, j);
  FUZZ_CHECK(policy::describe(fault) != nullptr);
  if (fault != json_fault::none) {
    FUZZ_CHECK(j.is_discarded());
    return j;
  }
  FUZZ_CHECK(text.find('\0') == std::string_view::npos);
  FUZZ_CHECK(fuzz::echo_safe(text));
  FUZZ_CHECK(depth_of(j) <= depth);
  auto again = json::parse(j.dump());
  FUZZ_CHECK(again == j);
  return j;
}

// `doc` is `body` parsed, discarded when it is not acceptable JSON.
void check_rewrite(std::string_view body, const json& doc,
                   const std::optional<std::string>& model, bool inject) {
  auto out = policy::rewrite_body(body, model, inject, max_depth);
  if (!doc.is_object()) {
    FUZZ_CHECK(out == body);
    return;
  }
  if (out == body) {
    // Nothing to change: it already says so.
    if (model)
      FUZZ_CHECK(doc.contains("model") && doc["model"] == *model);
    if (inject)
      FUZZ_CHECK(doc.contains("stream_options")
                 && doc["stream_options"].is_object()
                 && doc["stream_options"].contains("include_usage")
                 && doc["stream_options"]["include_usage"] == true);
    return;
  }
  // A JSON object stays one, with what was asked for.
  json out_doc;
  FUZZ_CHECK(policy::parse_json(out, max_depth, out_doc) == json_fault::none);
  FUZZ_CHECK(out_doc.is_object());
  if (model)
    FUZZ_CHECK(out_doc["model"] == *model);
  if (inject)
    FUZZ_CHECK(out_doc["stream_options"]["include_usage"] == true);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto body = fuzz::as_text(data, size);
  json_fault shallow;
  check_parse(body, 3, shallow);
  json_fault fault;
  auto doc = check_parse(body, max_depth, fault);
  if (shallow == json_fault::none)
    FUZZ_CHECK(fault == json_fault::none);

  auto info = policy::inspect_body(body, max_depth);
  FUZZ_CHECK(info.fault == fault);
  FUZZ_CHECK(info.is_json_object
             == (fault == json_fault::none && doc.is_object()));
  if (!info.is_json_object) {
    FUZZ_CHECK(info.model.empty() && !info.stream && !info.client_wants_usage
               && !info.max_tokens && info.prompt_chars == 0);
  }
  if (info.is_json_object) {
    // The fields read as nlohmann reads them (inspect_body runs on
    // simdjson when it accepts the text): the last of repeated members.
    auto model = doc.find("model");
    FUZZ_CHECK(info.model
               == (model != doc.end() && model->is_string()
                     ? model->get<std::string>()
                     : std::string{}));
    auto stream = doc.find("stream");
    FUZZ_CHECK(info.stream == (stream != doc.end() && *stream == true));
    auto options = doc.find("stream_options");
    FUZZ_CHECK(info.client_wants_usage
               == (options != doc.end() && options->is_object()
                   && options->contains("include_usage")
                   && (*options)["include_usage"] == true));
  }
  if (info.max_tokens)
    FUZZ_CHECK(*info.max_tokens >= 0);
  FUZZ_CHECK(info.prompt_chars <= body.size());

  check_rewrite(body, doc, std::nullopt, false);
  check_rewrite(body, doc, std::nullopt, true);
  check_rewrite(body, doc, std::string{"gpt-4o-mini"}, true);
  // The model the body already names: nothing to change for the model.
  check_rewrite(body, doc, info.model, false);
  return 0;
}
