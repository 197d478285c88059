"""The follow-up schedule: one gentle check-in, due a while after a crisis reply (SAFETY.md §9).

An entry is due at a time and names the person by their keyed hash. Pushing needs the platform
user id, so each entry carries it sealed (encrypted and authenticated with a key derived from
the server secret) and only until the entry is sent, cancelled or forgotten. No text is kept.

- `MemoryFollowups` (embedded mode): a dict in this process.
- `RedisFollowups`: the sorted set `<prefix>followup:due` (member: the person key, score: the
  due time) and the sealed entry under `<prefix>followup:<person>` (so "forget me", which
  deletes every key naming the person, deletes it too). `pop_due` takes each due entry out in
  one script, so of several processes exactly one sends it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEEP_AFTER_DUE = 2 * 3600
"""Seconds an unsent entry outlives its due time: a check-in much later than that (every
process was down) would no longer follow the conversation, so it is dropped instead."""
Secret = Callable[[], bytes]
"""The server secret, read when first needed."""
_NONCE = 12
_AAD = b"tsunagari:followup"


@dataclass(frozen=True, slots=True)
class Due:
    person: str
    due: float
    channel: str
    user_id: str


class Sealer:
    """AES-256-GCM with a key derived from the server secret: the id is unreadable at rest and
    a tampered or foreign entry is refused."""

    def __init__(self, secret: Secret) -> None:
        self._secret = secret
        self._aead: AESGCM | None = None

    def _cipher(self) -> AESGCM:
        # read on first use: the secret may be a file that is made when first needed
        if self._aead is None:
            key = hmac.new(self._secret(), b"tsunagari:followup:aes-gcm", hashlib.sha256).digest()
            self._aead = AESGCM(key)
        return self._aead

    def seal(self, text: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._cipher().encrypt(nonce, text.encode(), _AAD)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, token: str) -> str | None:
        """The sealed text, or None when the token was not sealed with this secret."""
        try:
            raw = base64.urlsafe_b64decode(token.encode())
        except ValueError:
            return None
        if len(raw) <= _NONCE:
            return None
        try:
            plain = self._cipher().decrypt(raw[:_NONCE], raw[_NONCE:], _AAD)
        except InvalidTag:
            return None
        return plain.decode(errors="replace")


class Followups(Protocol):
    async def schedule(self, person: str, due: float, channel: str, user_id: str) -> None:
        """Due at `due` (epoch seconds); replaces an earlier entry of the person."""

    async def cancel(self, person: str) -> None: ...

    async def pop_due(self, now: float, limit: int = 50) -> list[Due]:
        """Take the entries due by `now` out of the schedule (each is returned once, to one
        caller); entries far past their time are dropped unsent."""
        ...

    async def pending(self) -> int: ...

    async def close(self) -> None: ...


class MemoryFollowups:
    def __init__(self, secret: Secret) -> None:
        self._sealer = Sealer(secret)
        self._items: dict[str, tuple[float, str, str]] = {}

    async def schedule(self, person: str, due: float, channel: str, user_id: str) -> None:
        self._items[person] = (due, channel, self._sealer.seal(user_id))

    async def cancel(self, person: str) -> None:
        self._items.pop(person, None)

    async def pop_due(self, now: float, limit: int = 50) -> list[Due]:
        ready = sorted((d, p) for p, (d, _, _) in self._items.items() if d <= now)[:limit]
        out: list[Due] = []
        for due, person in ready:
            _, channel, sealed = self._items.pop(person)
            user_id = self._sealer.open(sealed)
            if user_id is not None and now - due <= KEEP_AFTER_DUE:
                out.append(Due(person, due, channel, user_id))
        return out

    async def pending(self) -> int:
        return len(self._items)

    async def close(self) -> None:
        self._items.clear()


_POP_DUE = """
local people = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
for _, person in ipairs(people) do
  local score = redis.call('ZSCORE', KEYS[1], person)
  redis.call('ZREM', KEYS[1], person)
  local key = ARGV[3] .. person
  local entry = redis.call('GET', key)
  redis.call('DEL', key)
  if entry then
    table.insert(out, person)
    table.insert(out, score)
    table.insert(out, entry)
  end
end
return out
"""
"""Claim and take out, in one step: two processes never both get an entry."""


class RedisFollowups:
    def __init__(self, client: aioredis.Redis, prefix: str, secret: Secret) -> None:
        self._client = client
        self._prefix = prefix
        self._sealer = Sealer(secret)
        self._pop = client.register_script(_POP_DUE)

    @classmethod
    def from_url(cls, url: str, prefix: str, secret: Secret) -> RedisFollowups:
        return cls(aioredis.Redis.from_url(url), prefix, secret)

    @property
    def due_key(self) -> str:
        return f"{self._prefix}followup:due"

    def entry_key(self, person: str) -> str:
        return f"{self._prefix}followup:{person}"

    async def schedule(self, person: str, due: float, channel: str, user_id: str) -> None:
        entry = json.dumps({"c": channel, "u": self._sealer.seal(user_id)})
        ttl = max(1, int(due - time.time()) + KEEP_AFTER_DUE)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.set(self.entry_key(person), entry, ex=ttl)
            pipe.zadd(self.due_key, {person: due})
            await pipe.execute()

    async def cancel(self, person: str) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.due_key, person)
            pipe.delete(self.entry_key(person))
            await pipe.execute()

    async def pop_due(self, now: float, limit: int = 50) -> list[Due]:
        found: list[Any] = await self._pop(
            keys=[self.due_key], args=[now, limit, f"{self._prefix}followup:"]
        )
        out: list[Due] = []
        for i in range(0, len(found), 3):
            person, score, raw = (_text(v) for v in found[i : i + 3])
            entry = json.loads(raw)
            user_id = self._sealer.open(str(entry.get("u", "")))
            due = float(score)
            if user_id is not None and now - due <= KEEP_AFTER_DUE:
                out.append(Due(person, due, str(entry.get("c", "")), user_id))
        return out

    async def pending(self) -> int:
        return int(await self._client.zcard(self.due_key))

    async def close(self) -> None:
        await self._client.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
