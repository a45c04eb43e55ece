"""What /healthz reports: whether a request can be written now, and how many wait in the spool."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from leads.extensions import db
from leads.models import Lead
from leads.services.intake import spool

log = logging.getLogger(__name__)

# How long the write probe may wait for a lock before the answer is "unavailable".
PROBE_TIMEOUT_MS = 1000


def health_report() -> dict[str, object]:
    """{'database': 'ok'|'unavailable', 'spool': waiting requests}.

    "ok" means a request could be written now: the probe is a write of the
    table the intake writes (no row matches it, and it is rolled back), so a
    read-only or write-locked database is reported as unavailable, within
    PROBE_TIMEOUT_MS of lock wait or the connect and statement timeouts.
    """
    try:
        _probe_write()
        database = "ok"
    except SQLAlchemyError as error:
        log.warning("health check: database cannot be written: %s", type(getattr(error, "orig", None) or error).__name__)
        database = "unavailable"
    finally:
        db.session.rollback()
    return {"database": database, "spool": spool().size()}


def _probe_write() -> None:
    engine = db.engine
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {PROBE_TIMEOUT_MS}")
        else:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {PROBE_TIMEOUT_MS}")
        try:
            connection.execute(sa.update(Lead).where(Lead.id == -1).values(request_count=Lead.request_count))
        finally:
            connection.rollback()
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {current_app.config['SQLITE_BUSY_TIMEOUT_MS']}")
