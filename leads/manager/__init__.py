"""The manager's reports (/manager)."""
from flask import Blueprint

from leads.auth.access import MANAGER_ROLES, protect_blueprint

bp = Blueprint("manager", __name__)
protect_blueprint(bp, MANAGER_ROLES)

from leads.manager import views  # noqa: E402,F401  (the routes register themselves on bp)
from leads.manager import privacy  # noqa: E402,F401  (data rights and the audit log)
from leads.manager import messages  # noqa: E402,F401  (messages to patients: the outbox)
