"""Two processes editing different services at the same moment both keep their change."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from admin.registry import save_service, service_of
from admin.roles import Role
from admin.users import Operator
from resources import store
from resources.changes import LocalChangeBus
from tests.admin.conftest import prepare_database
from tests.admin.console_fixtures import OTHER_SERVICE, OWN_SERVICE

ADMIN = Operator(1, "admin@secretariat.example", Role.PLATFORM_ADMIN, None)
ROUNDS = 6


async def test_simultaneous_edits_from_two_processes_lose_nothing(postgres_url: str) -> None:
    # two engines stand for two processes: each has its own pool and its own in-process lock
    first, second = store.make_engine(postgres_url), store.make_engine(postgres_url)
    await prepare_database(first)
    bus = LocalChangeBus()

    async def rename(engine: AsyncEngine, service_id: str) -> None:
        for n in range(ROUNDS):
            current = service_of(await store.load_registry(engine), service_id)
            new = current.model_copy(update={"name_en": f"{service_id} edit {n}"})
            await save_service(engine, bus, ADMIN, ADMIN.actor, new)

    try:
        await asyncio.gather(rename(first, OWN_SERVICE), rename(second, OTHER_SERVICE))
        registry = await store.load_registry(first)
        last = ROUNDS - 1
        assert service_of(registry, OWN_SERVICE).name_en == f"{OWN_SERVICE} edit {last}"
        assert service_of(registry, OTHER_SERVICE).name_en == f"{OTHER_SERVICE} edit {last}"
    finally:
        await first.dispose()
        await second.dispose()
