"""Who works at the desk, and which audiences each role may use."""

from __future__ import annotations

OPERATOR, MANAGER, ADMIN = "operator", "manager", "admin"
ROLES = (OPERATOR, MANAGER, ADMIN)
# Who may use each audience's pages.
DESK_ROLES = (OPERATOR, MANAGER, ADMIN)
MANAGER_ROLES = (MANAGER, ADMIN)
ADMIN_ROLES = (ADMIN,)
