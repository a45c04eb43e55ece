"""The patient's side: the request form, the thanks page, the consent document, the embed."""
from flask import Blueprint

bp = Blueprint("public", __name__)

from leads.public import views  # noqa: E402,F401  (routes register on bp)
from leads.public import visit  # noqa: E402,F401  (the patient's link to their visit)
