"""What each member of staff chose for their own desk."""
from __future__ import annotations

from leads.extensions import db
from leads.models import User
from leads.services.unit_of_work import unit_of_work


def set_save_and_next(user_id: int, on: bool) -> None:
    """Whether recording an outcome takes the next lead in the same action, for `user_id`.  Commits."""
    with unit_of_work():
        user = db.session.get(User, user_id)
        if user is None:
            raise LookupError(f"no user {user_id}")
        user.save_and_next = on
