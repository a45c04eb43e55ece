"""The staff navigation: the areas the signed-in user's role may use."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from leads.auth.access import ADMIN_ROLES, DESK_ROLES, MANAGER_ROLES

# (label, endpoint, path to use while the endpoint does not exist yet, roles)
AREAS = (
    (_l("Queue"), "operator.queue", "/operator/", DESK_ROLES),
    (_l("Appointments"), "operator.appointments", "/operator/appointments", DESK_ROLES),
    (_l("Reports"), "manager.index", "/manager/", MANAGER_ROLES),
    (_l("Users"), "admin.users", "/admin/users", ADMIN_ROLES),
    (_l("Doctors"), "admin.doctors", "/admin/doctors", ADMIN_ROLES),
    (_l("Closures"), "admin.closures", "/admin/closures", ADMIN_ROLES),
)


@dataclass(frozen=True)
class NavLink:
    """One link of the staff navigation."""

    label: str
    url: str
    current: bool


def staff_links() -> list[NavLink]:
    """Links to the areas the current user may use, in menu order; none for anonymous people."""
    if not current_user.is_authenticated:
        return []
    areas = []
    for label, endpoint, fallback, roles in AREAS:
        if current_user.role in roles:
            areas.append((str(label), url_for(endpoint) if endpoint in current_app.view_functions else fallback))
    # The current area is the longest link the path starts with: the queue's "/operator/"
    # must not light up on "/operator/appointments".
    current = max((url for _label, url in areas if request.path.startswith(url)), key=len, default=None)
    return [NavLink(label, url, url == current) for label, url in areas]


def inject_nav() -> dict:
    """Template context: `staff_links()` for _nav.html."""
    return {"staff_links": staff_links}
