"""Administration: users, doctors, closures (/admin)."""
from flask import Blueprint

from leads.auth.access import ADMIN_ROLES, protect_blueprint

bp = Blueprint("admin", __name__)
protect_blueprint(bp, ADMIN_ROLES)

from leads.admin import views  # noqa: E402,F401  (routes register on bp)
