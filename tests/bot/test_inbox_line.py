"""The inbox behind the LINE front door: a flood from one person is met calmly, once."""

from __future__ import annotations

from bot.ratelimit import BURST, CALM
from tests.fakes.line_webhook import new_user_id
from tests.handlers.line_harness import line_door


async def test_a_flood_from_one_person_gets_one_calm_message_and_no_routing_work() -> None:
    async with line_door() as line:
        flooding, other = new_user_id(), new_user_id()
        line.api.add_user(flooding)
        line.api.add_user(other)
        for n in range(BURST + 8):
            assert (await line.post(line.webhook.text(flooding, f"message {n}"))).status_code == 200
        await line.post(line.webhook.text(other, "hello"))
        await line.settle()
        heard = [user for _, user, _ in line.runtime.calls]  # type: ignore[attr-defined]
        assert heard.count(flooding) == BURST
        assert line.texts(flooding).count(CALM["ja"]) == 1
        assert line.texts(other) == ["heard text"]
