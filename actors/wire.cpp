#include "actors/wire.hpp"

#include "actors/fwd.hpp"

namespace gatehouse::actors {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::gatehouse>();
}

} // namespace gatehouse::actors
