#include "actors/fwd.hpp"

namespace gatehouse::actors {

namespace {

const caf::atom_value category = caf::atom("gatehouse");

} // namespace

// CAF treats code 0 as "no error", hence the offset of one.
caf::error to_error(const policy::problem& p) {
  return caf::error(static_cast<uint8_t>(static_cast<int>(p.code) + 1),
                    category, caf::make_message(p.message));
}

policy::problem to_problem(const caf::error& e) {
  if (e.category() != category || e.code() == 0)
    return policy::make_problem(policy::errc::internal_error,
                                "internal error");
  std::string msg;
  if (e.context().match_elements<std::string>())
    msg = e.context().get_as<std::string>(0);
  return policy::make_problem(static_cast<policy::errc>(e.code() - 1),
                              std::move(msg));
}

} // namespace gatehouse::actors
