"""The operators' desk: the queue, lead cards, outcomes (/operator)."""
from flask import Blueprint

from leads.auth.access import DESK_ROLES, protect_blueprint

bp = Blueprint("operator", __name__)
protect_blueprint(bp, DESK_ROLES)

from leads.operator import book, live, views  # noqa: E402,F401  (routes register on bp)
from leads.operator import confirmations  # noqa: E402,F401  (confirmation calls, issue 14)
