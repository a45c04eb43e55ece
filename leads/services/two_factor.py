"""Two-factor sign-in for managers and admins: a TOTP authenticator app (RFC 6238, `pyotp`)
and one-time recovery codes; an admin may require it of a role.

A code is checked against the time steps next to now (a phone's clock may be
half a minute off) and a step once used is never accepted again, so a code
seen over a shoulder cannot sign in a second time.  A wrong code counts as a
failed sign-in of that person from that address and is throttled like one
(leads.domain.throttle).  Recovery codes have 50 random bits each and are kept
as SHA-256 digests; each works once.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from leads.domain.roles import MANAGER_ROLES
from leads.extensions import db
from leads.models import LoginFailure, RecoveryCode, TwoFactorRole, User
from leads.services.accounts import AccountError, Actor, LoginThrottled, _audit, get_user, throttled_until
from leads.services.clinic import now_utc
from leads.services.unit_of_work import unit_of_work

RECOVERY_CODES = 10
STEP_SECONDS = 30  # pyotp's default interval
WINDOW_STEPS = 1  # one step either side of now


class TwoFactorError(AccountError):
    field = "code"


def new_secret() -> str:
    """A fresh TOTP key (base32) to show the person setting up their app."""
    return pyotp.random_base32()


def provisioning_uri(username: str, secret: str) -> str:
    """The otpauth:// address an authenticator app reads (typed in, or from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=current_app.config["CLINIC_NAME"])


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step near `now` whose code is `code`, or None."""
    code = "".join(code.split())
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _digest(code: str) -> str:
    return hashlib.sha256("".join(code.split()).lower().encode()).hexdigest()


def _new_recovery_codes(user_id: int, now: datetime) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [f"{secrets.token_hex(3)[:5]}-{secrets.token_hex(3)[:5]}" for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user_id, code_sha256=_digest(code)) for code in codes)
    return codes


def may_use_two_factor(user: User) -> bool:
    """Managers and admins may (and may be required to) sign in with a second factor."""
    return user.role in MANAGER_ROLES


def enable(user_id: int, secret: str, code: str, ip: str = "", now: datetime | None = None) -> list[str]:
    """Turn two-factor sign-in on with `secret` once `code` from the app proves it was set up;
    the recovery codes (shown once).  Audit "two_factor_enabled"."""
    now = now or now_utc()
    with unit_of_work():
        user = get_user(user_id)
        if not may_use_two_factor(user):
            raise TwoFactorError(_l("Two-factor sign-in is for managers and admins."))
        step = _matching_step(secret, code or "", now)
        if step is None:
            raise TwoFactorError(_l("This code is not right. Type the 6 digits your app shows now."))
        user.totp_secret, user.totp_last_step = secret, step
        codes = _new_recovery_codes(user.id, now)
        _audit(Actor(user.id, ip), "two_factor_enabled")
    return codes


def disable(user_id: int, code: str, ip: str = "", now: datetime | None = None) -> None:
    """Turn it off (a current code or a recovery code needed); refused where the role requires it."""
    now = now or now_utc()
    user = get_user(user_id)
    if user.role in required_roles():
        raise TwoFactorError(_l("Your role must sign in with a second factor; it cannot be turned off."))
    if not check_code(user_id, code, ip, now):
        raise TwoFactorError(_l("This code is not right. Type the 6 digits your app shows now."))
    with unit_of_work():
        user = get_user(user_id)
        user.totp_secret, user.totp_last_step = None, None
        db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        _audit(Actor(user.id, ip), "two_factor_disabled")


def check_code(user_id: int, code: str, ip: str = "", now: datetime | None = None) -> bool:
    """True if `code` is the person's current app code (not used before) or an unused recovery code,
    which is then spent.  A wrong code is a failed sign-in from `ip`.  Commits.

    :raise LoginThrottled: while this person from `ip` (or `ip`) must wait.
    """
    now = now or now_utc()
    user = get_user(user_id)
    until = throttled_until(user.username, ip, now)
    if until is not None:
        raise LoginThrottled(_l("Too many failed attempts."), until)
    with unit_of_work():
        step = _matching_step(user.totp_secret, code or "", now) if user.totp_secret else None
        if step is not None and (user.totp_last_step is None or step > user.totp_last_step):
            user.totp_last_step = step
            _audit(Actor(user.id, ip), "login_second_factor")
            return True
        spent = db.session.execute(
            sa.update(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.code_sha256 == _digest(code or ""),
                   RecoveryCode.used_at.is_(None))
            .values(used_at=now)
            .returning(RecoveryCode.id)
        ).first()
        if spent is not None:
            _audit(Actor(user.id, ip), "login_recovery_code")
            return True
        db.session.add(LoginFailure(username=user.username, ip=(ip or "")[:64], at=now))
        _audit(Actor(user.id, ip), "login_failed", "second factor")
    return False


def recovery_codes_left(user_id: int) -> int:
    """How many of the person's recovery codes are unused."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    ) or 0


def required_roles() -> set[str]:
    """The roles whose people must sign in with a second factor."""
    return set(db.session.scalars(sa.select(TwoFactorRole.role)))


def must_set_up(user: User) -> bool:
    """True when the person's role requires a second factor they have not set up yet."""
    return may_use_two_factor(user) and not user.totp_secret and user.role in required_roles()


def set_required_roles(roles: set[str], actor: Actor) -> None:
    """Require a second factor of exactly these roles (managers and admins only); audited."""
    roles = {role for role in roles if role in MANAGER_ROLES}
    with unit_of_work():
        db.session.execute(sa.delete(TwoFactorRole))
        db.session.add_all(TwoFactorRole(role=role) for role in sorted(roles))
        _audit(actor, "two_factor_required", ", ".join(sorted(roles)) or "none")
