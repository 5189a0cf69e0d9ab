#include "actors/audit.hpp"

#include "policy/ids.hpp"
#include "policy/time.hpp"

namespace gatehouse::actors {

storage::audit_record audit_entry(const std::string& org_id,
                                  const audit_ctx& who, std::string action,
                                  std::string target_type,
                                  std::string target_id,
                                  const nlohmann::json& before,
                                  const nlohmann::json& after) {
  storage::audit_record a;
  a.id = policy::uuid_v4();
  a.org_id = org_id;
  a.actor_type = who.actor_type;
  a.actor_id = who.actor_id;
  a.action = std::move(action);
  a.target_type = std::move(target_type);
  a.target_id = std::move(target_id);
  if (!before.is_null())
    a.before_json = before.dump();
  if (!after.is_null())
    a.after_json = after.dump();
  a.ip = who.ip;
  a.created_at = who.now_ms ? policy::rfc3339_ms(who.now_ms)
                            : policy::rfc3339(who.now_s);
  return a;
}

} // namespace gatehouse::actors
