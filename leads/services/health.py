"""What /healthz reports."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from leads.extensions import db
from leads.services.intake import spool

log = logging.getLogger(__name__)


def health_report() -> dict[str, object]:
    """{'database': 'ok'|'unavailable', 'spool': waiting requests}."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("health check: database unavailable", exc_info=True)
        database = "unavailable"
    return {"database": database, "spool": spool().size()}
