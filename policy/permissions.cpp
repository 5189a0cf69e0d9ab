#include "policy/permissions.hpp"

namespace gatehouse::policy {

bool may_assign_role(role actor, role target_current, role target_new) {
  if (actor == role::owner)
    return true;
  if (actor == role::admin)
    return target_current != role::owner && target_new != role::owner;
  return false;
}

bool may_manage_member(role actor, role target) {
  if (actor == role::owner)
    return true;
  if (actor == role::admin)
    return target != role::owner;
  return false;
}

last_owner_check check_last_owner(role target_role, bool target_active,
                                  int active_owner_count,
                                  bool removes_owner_rights) {
  // A count below 1 means the records disagree with the target being an
  // active owner; refusing is the safe reading.
  if (removes_owner_rights && target_role == role::owner && target_active
      && active_owner_count <= 1)
    return last_owner_check::would_remove_last_owner;
  return last_owner_check::ok;
}

} // namespace gatehouse::policy
