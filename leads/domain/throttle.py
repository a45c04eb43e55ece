"""How long a sign-in attempt waits after failures: growing delays, never a lock.

Failures are counted per key — a username tried from one address, and an
address whatever usernames it tries.  A key's first `free` failures cost
nothing; from then on each attempt must wait after the latest failure, a wait
that doubles with every further failure up to `max_delay`.  A username is
never locked as such: failures from an attacker's address leave the same
username free from the clinic's own.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Past this many doublings the wait is long capped anyway (and 2**n stays small).
MAX_DOUBLINGS = 16


@dataclass(frozen=True)
class ThrottleRule:
    """The allowance of one kind of key."""

    free: int  # failures without any wait
    first_delay: timedelta  # the wait after the first failure past `free`
    max_delay: timedelta  # the longest wait


# A person mistyping: five tries, then 30 s, 1, 2, 4, 8 and at most 15 minutes.
PER_ACCOUNT = ThrottleRule(free=5, first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=15))
# One address trying many usernames (a whole clinic may share one): twenty, then the same.
PER_ADDRESS = ThrottleRule(free=20, first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=15))
# Failures older than this are forgotten (and purged).
FAILURE_MEMORY = timedelta(hours=1)


def next_attempt_at(failures: int, latest: datetime | None, rule: ThrottleRule) -> datetime | None:
    """When a key with `failures` (the latest at `latest`) may try again; None if it may now."""
    if failures < rule.free or latest is None:
        return None
    doublings = min(failures - rule.free, MAX_DOUBLINGS)
    return latest + min(rule.first_delay * 2**doublings, rule.max_delay)
