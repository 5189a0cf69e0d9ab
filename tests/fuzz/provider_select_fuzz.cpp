// Provider selection with fuzzer-built inputs: the org's provider names and
// default, the X-Gatehouse-Provider header, the body's model and the path.
//
// Input (FuzzedDataProvider): the texts from the front, each but the last
// (the model) ended by a backslash and one more byte; the choices (counts,
// yes/no, which known name) one byte each from the end, last byte first.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "policy/provider_select.hpp"
#include "policy/validate.hpp"

namespace {

using namespace gatehouse;

const std::array<const char*, 8> known
  = {"openai", "anthropic", "google", "mistral", "azure", "groq", "local", "x"};

// A provider name: one the detection rules know, or anything.
std::string name(FuzzedDataProvider& fdp) {
  if (fdp.ConsumeBool())
    return known[fdp.ConsumeIntegralInRange<std::size_t>(0, known.size() - 1)];
  return fdp.ConsumeRandomLengthString(24);
}

std::string lowercase(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool has(const policy::selection_input& in, const std::string& p) {
  for (auto& x : in.providers)
    if (x == p)
      return true;
  return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  FuzzedDataProvider fdp{data, size};
  policy::selection_input in;
  auto count = fdp.ConsumeIntegralInRange<int>(0, 6);
  for (int i = 0; i < count; ++i)
    in.providers.push_back(name(fdp));
  if (fdp.ConsumeBool())
    in.default_provider = name(fdp);
  in.auto_detection = fdp.ConsumeBool();
  if (fdp.ConsumeBool())
    in.header_provider = fdp.ConsumeRandomLengthString(200);
  in.path = fdp.ConsumeBool() ? std::string{"/v1/messages"}
                              : fdp.ConsumeRandomLengthString(64);
  if (fdp.ConsumeBool())
    in.model = name(fdp) + "/";
  in.model += fdp.ConsumeRemainingBytesAsString();

  auto chosen = policy::select_provider(in);
  if (auto* p = std::get_if<policy::problem>(&chosen)) {
    FUZZ_CHECK(p->code == policy::errc::provider_required);
    // The message goes into an error answer as it is.
    FUZZ_CHECK(fuzz::echo_safe(p->message));
    FUZZ_CHECK(p->message.size() <= 512);
    nlohmann::json answer = {{"message", p->message}};
    fuzz::dump(answer);
    return 0;
  }
  auto& sel = std::get<policy::selection>(chosen);
  FUZZ_CHECK(has(in, sel.provider));
  FUZZ_CHECK(sel.model_rewritten == (sel.model != in.model));
  if (sel.model_rewritten) {
    FUZZ_CHECK(!sel.model.empty());
    FUZZ_CHECK(in.model == sel.provider + "/" + sel.model);
  }
  if (in.header_provider && !policy::trim(*in.header_provider).empty()) {
    FUZZ_CHECK(sel.provider
               == lowercase(std::string{policy::trim(*in.header_provider)}));
    FUZZ_CHECK(!sel.model_rewritten);
  }
  return 0;
}
