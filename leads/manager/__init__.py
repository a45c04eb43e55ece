"""The manager's reports (/manager)."""
from flask import Blueprint

from leads.auth.access import MANAGER_ROLES, protect_blueprint

bp = Blueprint("manager", __name__)
protect_blueprint(bp, MANAGER_ROLES)
