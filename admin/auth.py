"""Who is asking: argon2 passwords, hashed API tokens, the signed session cookie, CSRF tokens and
login rate limiting.

The session cookie holds only an operator id and a random nonce, signed with the server secret
(itsdangerous) and dated, so it cannot be forged and expires. The CSRF token of a form is an
HMAC of that nonce: a page from our origin knows it, another site cannot.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.asyncio import Redis
from redis.exceptions import RedisError

_hasher = PasswordHasher()
log = logging.getLogger("tsunagari.admin.auth")

SESSION_COOKIE = "tsunagari_admin"
SESSION_MAX_AGE = 12 * 3600
"""A console session lasts a working day."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


TOKEN_PREFIX = "tsg_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    """What the cookie says: who (None before login) and the nonce CSRF tokens derive from."""

    operator_id: int | None
    nonce: str

    @classmethod
    def anonymous(cls) -> Session:
        return cls(None, secrets.token_urlsafe(16))


class SessionSigner:
    """Signs and reads the session cookie, and makes and checks CSRF tokens."""

    def __init__(self, secret: bytes, *, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="tsunagari-admin-session")
        self._csrf_key = hmac.new(secret, b"tsunagari-admin-csrf", hashlib.sha256).digest()
        self.secure = secure

    def dumps(self, session: Session) -> str:
        return self._serializer.dumps({"o": session.operator_id, "n": session.nonce})

    def loads(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data: Any = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:  # includes expiry
            return None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str):
            return None
        operator_id = data.get("o")
        return Session(operator_id if isinstance(operator_id, int) else None, data["n"])

    def cookie_options(self) -> dict[str, Any]:
        return {
            "key": SESSION_COOKIE,
            "max_age": SESSION_MAX_AGE,
            "httponly": True,
            "samesite": "lax",
            "secure": self.secure,
            "path": "/",
        }

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)


def _limits(email: str, client: str, max_failures: int) -> list[tuple[str, int]]:
    """The counters one attempt touches, with their limits: the address, and the client (which
    may try several addresses, so it gets more room). Both hashed: no address in a key."""
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    origin = hashlib.sha256(client.encode()).hexdigest()[:32]
    return [(f"e:{address}", max_failures), (f"c:{origin}", max_failures * 4)]


class LoginLimiter(Protocol):
    """Refuses sign-in attempts after too many failures for one address or from one client
    within a window; a successful sign-in clears the address's count."""

    async def retry_after(self, email: str, client: str) -> int:
        """Seconds until another attempt is allowed; 0 when one is allowed now."""
        ...

    async def failed(self, email: str, client: str) -> None: ...

    async def succeeded(self, email: str) -> None: ...


class MemoryLoginLimiter:
    """One process: a sliding window of failure times per counter."""

    def __init__(
        self,
        max_failures: int = 5,
        window_seconds: float = 900,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures[key]
        cutoff = self._clock() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    async def retry_after(self, email: str, client: str) -> int:
        wait = 0.0
        for key, limit in _limits(email, client, self.max_failures):
            failures = self._recent(key)
            if len(failures) >= limit:
                wait = max(wait, failures[0] + self.window - self._clock())
        return int(wait) + 1 if wait > 0 else 0

    async def failed(self, email: str, client: str) -> None:
        now = self._clock()
        for key, _ in _limits(email, client, self.max_failures):
            self._failures[key].append(now)

    async def succeeded(self, email: str) -> None:
        key = _limits(email, "", self.max_failures)[0][0]
        self._failures.pop(key, None)


class RedisLoginLimiter:
    """Every process of a deployment counts together: a counter per address and per client that
    expires a window after its first failure. If Redis cannot be reached, sign-in stays
    possible (operators must be able to fix the registry) and the failure is logged."""

    def __init__(
        self, url: str, prefix: str, max_failures: int = 5, window_seconds: int = 900
    ) -> None:
        self._redis: Redis = Redis.from_url(url)
        self._prefix = f"{prefix}login:"
        self.max_failures = max_failures
        self.window = window_seconds

    async def retry_after(self, email: str, client: str) -> int:
        wait = 0
        try:
            for key, limit in _limits(email, client, self.max_failures):
                count = await self._redis.get(self._prefix + key)
                if count is not None and int(count) >= limit:
                    wait = max(wait, int(await self._redis.ttl(self._prefix + key)), 1)
        except RedisError as exc:
            log.warning("login limiter unavailable: %s", type(exc).__name__)
            return 0
        return wait

    async def failed(self, email: str, client: str) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for key, _ in _limits(email, client, self.max_failures):
                    pipe.incr(self._prefix + key)
                    pipe.expire(self._prefix + key, self.window, nx=True)
                await pipe.execute()
        except RedisError as exc:
            log.warning("login limiter unavailable: %s", type(exc).__name__)

    async def succeeded(self, email: str) -> None:
        try:
            await self._redis.delete(self._prefix + _limits(email, "", self.max_failures)[0][0])
        except RedisError as exc:
            log.warning("login limiter unavailable: %s", type(exc).__name__)

    async def close(self) -> None:
        await self._redis.aclose()


def login_limiter(redis_url: str | None, prefix: str = "tsunagari:") -> LoginLimiter:
    """Shared through Redis when a URL is given, else this process's memory."""
    return RedisLoginLimiter(redis_url, prefix) if redis_url else MemoryLoginLimiter()
