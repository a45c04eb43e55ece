"""Demo logins for `flask --app wsgi demo`: one account per role, with known passwords."""
from __future__ import annotations

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from leads.auth.access import ADMIN, MANAGER, OPERATOR
from leads.extensions import db
from leads.models import User
from leads.services.accounts import create_user

# Known on purpose: these accounts exist only in demo databases.
DEMO_USERS = (
    ("operator", OPERATOR, "operator-demo-pass", "Демо Оператор"),
    ("manager", MANAGER, "manager-demo-pass", "Демо Менеджер"),
    ("admin", ADMIN, "admin-demo-pass", "Демо Администратор"),
)


def load_demo_users() -> list[str]:
    """Create the demo logins that are absent; a line to print for each.

    An existing account keeps its password; its line says so when the demo
    password no longer works.
    """
    lines = []
    for username, role, password, display_name in DEMO_USERS:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            user = create_user(username, role, password, display_name=display_name)
        if check_password_hash(user.password_hash, password):
            lines.append(f"demo login: {username} / {password} ({user.role})")
        else:
            lines.append(f"demo login: {username} exists with another password ({user.role})")
    return lines
