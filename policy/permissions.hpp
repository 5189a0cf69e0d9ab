#pragma once

#include "policy/role.hpp"

namespace gatehouse::policy {

/// Whether `actor` may change the role of a member from `target_current` to
/// `target_new`. Owners may assign any role to anyone; admins may assign
/// admin, member or viewer to members who are not owners, and never touch
/// owners; members and viewers may assign nothing. Whether the change would
/// leave the org without an owner is `check_last_owner`'s question.
bool may_assign_role(role actor, role target_current, role target_new);

/// Whether `actor` may suspend, reactivate, delete or re-invite a member
/// whose role is `target`: owners may manage anyone, admins anyone but
/// owners, members and viewers no one.
bool may_manage_member(role actor, role target);

/// The outcome of `check_last_owner`.
enum class last_owner_check {
  /// The change leaves at least one active owner.
  ok,
  /// The change would leave the org without an active owner.
  would_remove_last_owner,
};

/// Checks a change to a member whose role is `target_role` (active or not)
/// in an org with `active_owner_count` active owners, the target included
/// when it is one. A change that `removes_owner_rights` (a demotion,
/// suspension or deletion) of the only active owner is refused; changes to
/// other members, to inactive owners and changes that keep owner rights are
/// fine.
last_owner_check check_last_owner(role target_role, bool target_active,
                                  int active_owner_count,
                                  bool removes_owner_rights);

} // namespace gatehouse::policy
