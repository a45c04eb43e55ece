"""The staff navigation: the areas the signed-in user's role may use."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from flask_babel import lazy_gettext as _l, lazy_pgettext
from flask_login import current_user

from leads.auth.access import ADMIN_ROLES, DESK_ROLES, MANAGER_ROLES

# (label, endpoint, roles), in menu order.  The labels are short, so that an admin's
# ten links fit one line at 1366 px; each link's title gives the page's full name.
AREAS = (
    (lazy_pgettext("menu", "Queue"), _l("Queue"), "operator.queue", DESK_ROLES),
    (lazy_pgettext("menu", "Search"), _l("Search"), "operator.search", DESK_ROLES),
    (lazy_pgettext("menu", "Appointments"), _l("Appointments"), "operator.appointments", DESK_ROLES),
    (lazy_pgettext("menu", "Reports"), _l("Reports"), "manager.reports", MANAGER_ROLES),
    (lazy_pgettext("menu", "Visits"), _l("Visits to mark"), "manager.visits_to_mark", MANAGER_ROLES),
    (lazy_pgettext("menu", "Messages"), _l("Messages to patients"), "manager.messages", MANAGER_ROLES),
    (lazy_pgettext("menu", "Patient data"), _l("Personal data"), "manager.privacy", MANAGER_ROLES),
    (lazy_pgettext("menu", "Audit"), _l("Audit log"), "manager.audit", MANAGER_ROLES),
    (lazy_pgettext("menu", "Users"), _l("Users"), "admin.users", ADMIN_ROLES),
    (lazy_pgettext("menu", "Doctors"), _l("Doctors"), "admin.doctors", ADMIN_ROLES),
    (lazy_pgettext("menu", "Closures"), _l("Closures"), "admin.closures", ADMIN_ROLES),
)


@dataclass(frozen=True)
class NavLink:
    """One link of the staff navigation."""

    label: str
    url: str
    current: bool
    title: str = ""


def staff_links() -> list[NavLink]:
    """Links to the areas the current user may use, in menu order; none for anonymous people."""
    if not current_user.is_authenticated:
        return []
    areas = []
    for label, title, endpoint, roles in AREAS:
        if current_user.role in roles:
            areas.append((str(label), url_for(endpoint), str(title)))
    # The current area is the longest link the path starts with: the queue's "/operator/"
    # must not light up on "/operator/appointments".
    current = max((url for _label, url, _title in areas if request.path.startswith(url)), key=len, default=None)
    return [NavLink(label, url, url == current, title if title != label else "") for label, url, title in areas]


def inject_nav() -> dict:
    """Template context: `staff_links()` for _nav.html."""
    return {"staff_links": staff_links}
