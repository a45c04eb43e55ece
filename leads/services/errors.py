"""Refusals about a lead that several services raise, in one place.

Views map them to answers (leads/operator/refusals.py); each service module
raises its own narrower errors beside these.
"""
from __future__ import annotations

from datetime import datetime


class QueueError(Exception):
    """A queue operation was refused."""


class LeadNotFound(QueueError):
    """No lead has this id."""


class LeadNotOpen(QueueError):
    """The lead is booked or closed: nobody calls it from the queue any more."""


class LeadClaimedByOther(QueueError):
    """Another operator holds a live claim on the lead."""

    def __init__(self, holder_id: int, holder_name: str) -> None:
        super().__init__(f"lead is held by {holder_name}")
        self.holder_id = holder_id
        self.holder_name = holder_name


class LeadReservedForColleague(QueueError):
    """The lead is another operator's personal callback, theirs until `free_at`."""

    def __init__(self, owner_name: str, free_at: datetime) -> None:
        super().__init__(f"lead is {owner_name}'s personal callback until {free_at.isoformat()}")
        self.owner_name = owner_name
        self.free_at = free_at


class OutcomeRaced(QueueError):
    """Someone else recorded an outcome on this lead at the same moment."""
