"""Signing in with a password: argon2 off the event loop, and backoff after failures.

The password is checked between two short transactions, never inside one: the first reads
the throttle and the user, the argon2 work runs in `PasswordWorkers` (a bounded thread
pool), the second records the outcome. A flood of wrong passwords therefore neither stalls
the event loop nor holds database connections and locks while argon2 runs.

Backoff: failures are counted per account name and per client address in the
`sign_in_throttle` table, so the count survives a restart and holds across every process
that serves the street. After ``ACCOUNT_FREE_FAILURES`` failures for one name (or
``ADDRESS_FREE_FAILURES`` from one address: a street office signs in from behind one NAT)
each further failure blocks that key for 1 s, 2 s, 4 s ... up to 15 minutes; while a key
is blocked, attempts are refused before any password is checked, even a correct one. A
count is forgotten after an hour without failures; a successful sign-in clears the count of
its account name (not of its address). An unknown name is checked against a dummy hash and
counted exactly like a known one, so neither the answer, its timing nor the throttle tells
whether an account exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.accounts.users import Principal
from server.core.clock import Clock
from server.core.errors import N_, DomainError
from server.core.fields import clean_text
from server.core.security import PasswordsBusy, PasswordWorkers
from server.models import SignInThrottle, User

ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
FIRST_BLOCK = timedelta(seconds=1)
MAX_BLOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)
MAX_USERNAME = 64
MAX_PASSWORD = 1024


class SignInRefused(DomainError):
    """A sign-in that did not succeed; ``retry_after`` (seconds) when waiting helps."""

    retry_after: int | None = None


class WrongCredentials(SignInRefused):
    """Wrong password, unknown name or inactive account: one answer for all three."""

    status = 401
    code = "wrong_credentials"

    def __init__(self) -> None:
        super().__init__(N_("Wrong user name or password."))


class TooManyAttempts(SignInRefused):
    """Too many failed sign-ins for this name or from this address; retry later."""

    status = 429
    code = "throttled"

    def __init__(self, retry_after: int) -> None:
        message, params = retry_message(retry_after)
        super().__init__(message, params=params)
        self.retry_after = retry_after


class SignInBusy(SignInRefused):
    """Every password worker is busy; the client should retry in a moment."""

    status = 503
    code = "busy"

    def __init__(self) -> None:
        super().__init__(N_("The server is busy. Please try again in a moment."))
        self.retry_after = 1


async def hash_new_password(workers: PasswordWorkers, password: str) -> str:
    """A new password's hash, computed off the event loop (SignInBusy when all are busy)."""
    try:
        return await workers.hash(password)
    except PasswordsBusy as exc:
        raise SignInBusy() from exc


def retry_message(seconds: int) -> tuple[str, dict[str, object]]:
    """The msgid and its parameters that tell a person when to try again."""
    if seconds < 60:
        return (N_("Too many failed sign-ins. Please try again in %(seconds)s seconds."),
                {"seconds": seconds})
    return (N_("Too many failed sign-ins. Please try again in %(minutes)s minutes."),
            {"minutes": math.ceil(seconds / 60)})


@dataclass(frozen=True, kw_only=True)
class SignInAttempt:
    """A sign-in as the edge read it: bounded, normalised, with the caller's address."""

    username: str
    password: str
    address: str

    @classmethod
    def parse(cls, username: object, password: object, address: str | None) -> SignInAttempt:
        name = clean_text(username if isinstance(username, str) else "")[:MAX_USERNAME]
        secret = password if isinstance(password, str) else ""
        return cls(username=name, password=secret[:MAX_PASSWORD], address=address or "unknown")

    @property
    def keys(self) -> tuple[str, str]:
        return f"account:{self.username}", f"address:{self.address}"


def _threshold(key: str) -> int:
    return ACCOUNT_FREE_FAILURES if key.startswith("account:") else ADDRESS_FREE_FAILURES


def block_for(failures: int, free: int) -> timedelta | None:
    """How long a key is blocked after its ``failures``-th failure in a row."""
    if failures < free:
        return None
    exponent = min(failures - free, 20)  # 2**20 s is far past the cap already
    delay: timedelta = FIRST_BLOCK * (1 << exponent)
    return min(delay, MAX_BLOCK)


async def seconds_blocked(db: AsyncSession, keys: tuple[str, ...], now: datetime) -> int:
    """Seconds until every key may try again; 0 when none is blocked."""
    until = await db.scalars(select(SignInThrottle.blocked_until)
                             .where(SignInThrottle.key.in_(keys)))
    latest = max((u for u in until if u is not None), default=None)
    if latest is None or latest <= now:
        return 0
    return max(1, math.ceil((latest - now).total_seconds()))


async def record_failure(db: AsyncSession, key: str, now: datetime) -> None:
    # Writing first takes the write lock at once (SQLite) or the row lock (PostgreSQL),
    # so concurrent failures for one key count one after the other.
    bumped = await db.execute(update(SignInThrottle).where(SignInThrottle.key == key)
                              .values(failures=SignInThrottle.failures + 1))
    if getattr(bumped, "rowcount", 0) == 0:
        try:
            async with db.begin_nested():
                db.add(SignInThrottle(key=key, failures=1, last_failure_at=now,
                                      blocked_until=None))
            return
        except IntegrityError:  # another request inserted it first
            await db.execute(update(SignInThrottle).where(SignInThrottle.key == key)
                             .values(failures=SignInThrottle.failures + 1))
    row = await db.get(SignInThrottle, key, populate_existing=True)
    if row is None:
        return
    if now - row.last_failure_at > FORGET_AFTER:
        row.failures = 1
    row.last_failure_at = now
    block = block_for(row.failures, _threshold(key))
    row.blocked_until = now + block if block is not None else None


async def authenticate(
    database: async_sessionmaker[AsyncSession], workers: PasswordWorkers,
    attempt: SignInAttempt, *, clock: Clock,
) -> Principal:
    """The principal for a right password of an active account.

    Raises WrongCredentials otherwise, TooManyAttempts while the name or the address is
    blocked, and SignInBusy when the password workers are all taken.
    """
    async with database() as db:  # read only; the transaction ends with the block
        wait = await seconds_blocked(db, attempt.keys, clock())
        user = (await db.scalar(select(User).where(User.username == attempt.username))
                if attempt.username and wait == 0 else None)
        stored = user.password_hash if user is not None else None
    if wait:
        raise TooManyAttempts(wait)
    try:
        ok, new_hash = await workers.check(stored, attempt.password)
    except PasswordsBusy as exc:
        raise SignInBusy() from exc
    account_key, _address_key = attempt.keys
    async with database() as db, db.begin():
        principal: Principal | None = None
        if ok:
            await db.execute(delete(SignInThrottle).where(SignInThrottle.key == account_key))
            user = await db.scalar(select(User).where(User.username == attempt.username))
            # The password or the account may have changed while the hash was checked.
            if user is not None and user.active and user.password_hash == stored:
                if new_hash is not None:
                    user.password_hash = new_hash
                user.last_login_at = clock()
                principal = Principal.of(user)
        if principal is None:
            for key in attempt.keys:
                await record_failure(db, key, clock())
    if principal is None:  # raised after the commit, so the failure stays counted
        raise WrongCredentials()
    return principal
