"""Password hashes, device tokens and CSRF tokens."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A hash of a random password, verified against when the user does not exist, so a login
# for an unknown name costs as much time as one for a known name.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 8

T = TypeVar("T")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Whether the password matches, and its new hash when the stored one is outdated."""
    ok = verify_password(password_hash, password)  # the dummy hash when None: same cost
    if not ok or password_hash is None:
        return False, None
    return True, hash_password(password) if password_needs_rehash(password_hash) else None


class PasswordsBusy(Exception):
    """Every password worker is taken and the queue is full: the caller should retry soon."""


# argon2 is meant to be slow; the event loop (rooms, pages, /healthz) must not wait behind
# it for a core. Linux keeps a niceness per thread, and the lanes argon2 starts inherit it.
ARGON2_NICENESS = 10


def _yield_the_cpu() -> None:
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ARGON2_NICENESS)


class PasswordWorkers:
    """argon2 off the event loop, in a small thread pool with a bounded queue.

    argon2-cffi releases the GIL while it works, so the loop keeps answering other requests
    (health checks, room signalling) while passwords are checked. At most ``limit`` jobs run
    or wait; one more is refused at once with PasswordsBusy rather than queueing unbounded
    work behind a flood of sign-ins. A slot is freed when the thread finishes, not when the
    awaiting request goes away, so cancelled requests cannot overfill the pool.
    """

    # Two workers: each argon2 check already runs its four lanes on four threads, and the
    # cores also carry the video rooms. Sixteen in flight lets every site of a street sign
    # in at nine o'clock at once; a flood beyond that gets a fast "try again".
    def __init__(self, *, workers: int = 2, limit: int = 16) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2",
                                        initializer=_yield_the_cpu)
        self._limit = limit
        self._taken = 0
        self._lock = threading.Lock()

    def _release(self, _future: Future[object]) -> None:
        with self._lock:
            self._taken -= 1

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._taken >= self._limit:
                raise PasswordsBusy
            self._taken += 1
        try:
            future = self._pool.submit(fn, *args)
        except BaseException:
            self._release(Future())
            raise
        future.add_done_callback(self._release)  # type: ignore[arg-type]
        return await asyncio.wrap_future(future)

    async def check(self, password_hash: str | None, password: str) -> tuple[bool, str | None]:
        """`check_password` in a worker; an unknown user is checked against a dummy hash."""
        return await self._run(check_password, password_hash, password)

    async def hash(self, password: str) -> str:
        return await self._run(hash_password, password)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def new_device_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected, given)
