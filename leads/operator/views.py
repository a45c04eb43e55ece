"""Operator desk routes."""
from leads.operator import bp


@bp.get("/")
def queue():
    """The live queue (placeholder until the desk lands)."""
    return "queue"
