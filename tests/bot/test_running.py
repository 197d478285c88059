"""Commands run their coroutines without formatting what comes back (bot/commands/running.py)."""

from __future__ import annotations

import asyncio

import pytest

from bot.commands import running


class Catalogish:
    """Stands for a large result: a catalog of every service, whose repr is all of them."""

    reprs = 0

    def __repr__(self) -> str:
        Catalogish.reprs += 1
        return "<every service>"


async def load() -> Catalogish:
    await asyncio.sleep(0)
    return Catalogish()


def test_a_commands_result_comes_back_without_its_repr_being_formatted() -> None:
    Catalogish.reprs = 0
    result = running.run(load())
    assert isinstance(result, Catalogish)
    assert Catalogish.reprs == 0


def test_an_error_in_the_command_reaches_the_caller_as_it_was() -> None:
    async def broken() -> None:
        raise LookupError("no such service")

    with pytest.raises(LookupError, match="no such service"):
        running.run(broken())
