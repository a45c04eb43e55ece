"""The JSON API for the clinic's own site and integrations (/api/v1)."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from leads.api import views  # noqa: E402,F401  (routes register on bp)
