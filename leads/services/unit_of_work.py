"""One transaction per public service call (the service layer's unit of work)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import orm

from leads.extensions import db


@contextmanager
def unit_of_work() -> Iterator[orm.scoped_session]:
    """Commit what the block did when it ends; roll it all back if it raises.

    Used once, at the edge of a public service function: helpers inside raise,
    and never commit or roll back on their own.
    """
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def changed_rows(statement: sa.Executable) -> int:
    """Run an UPDATE or DELETE in the session; how many rows it changed."""
    return cast(sa.CursorResult[Any], db.session.execute(statement)).rowcount
