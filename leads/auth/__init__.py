"""Signing in and out; who the current user is."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from leads.auth import loader  # noqa: E402,F401  (registers the user loader)
