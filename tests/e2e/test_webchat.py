"""The web chat in headless Chromium (Debian's, driven by Playwright): tap through, see cards;
type a crisis mid-flow, see 119 and 110 as tap-to-call links."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from resources.catalog import Catalog
from resources.seed import load_seed

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The service on a free loopback port, with the bundled real registry."""
    registry, prefectures = load_seed()
    runtime = Runtime.for_tests(Catalog.build(registry, prefectures, version="seed"))
    app = create_app(Settings(secret_key="e2e-secret"), runtime=runtime)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web chat server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    p = context.new_page()
    p.goto(base_url + "/")
    yield p
    context.close()


def tap(page: Page, label: str) -> None:
    page.locator("#chat .options button:enabled", has_text=label).first.click()


def test_answering_by_tapping_shows_referral_cards(page: Page) -> None:
    expect(page.locator("#chat")).to_contain_text("カウンセラーでは ありません")
    for label in ("ひとりぼっち・さみしい", "19〜29さい", "関東", "東京都", "電話で 話したい"):
        tap(page, label)
    cards = page.locator("#chat .card")
    expect(cards.first).to_be_visible()
    assert 0 < cards.count() <= 3
    expect(cards.first.locator("a.contact[href^='tel:']")).to_be_visible()
    expect(cards.first.locator(".contact-line")).to_contain_text("電話: ")
    official = cards.locator("a.official").first
    expect(official).to_have_text("公式ページ")
    assert (official.get_attribute("href") or "").startswith(("https://", "http://"))
    assert "noopener" in (official.get_attribute("rel") or "").split()
    expect(page.locator("#chat .options button:enabled", has_text="ほかの 窓口")).to_be_visible()


def test_a_crisis_typed_mid_flow_shows_119_and_110_first(page: Page) -> None:
    expect(page.locator("#chat")).to_contain_text("カウンセラーでは ありません")
    tap(page, "ひとりぼっち・さみしい")
    expect(page.locator("#chat .options button:enabled", has_text="16〜18さい")).to_be_visible()
    before = page.locator("#chat .msg.bot").count()
    page.fill("#message", "もう無理。今から飛び降りて死にます")
    page.press("#message", "Enter")
    expect(
        page.locator("#chat .options button:enabled[data-payload='cmd:continue']")
    ).to_be_visible()
    calls = page.locator("#chat .msg.bot").evaluate_all(
        """(bubbles, n) => bubbles.slice(n).flatMap(
             b => [...b.querySelectorAll("a[href^='tel:']")].map(a => a.getAttribute("href")))""",
        before,
    )
    assert "tel:119" in calls and "tel:110" in calls
    first_reply = page.locator("#chat .msg.bot").nth(before)
    expect(first_reply).not_to_contain_text("年れい")
    page.locator("#chat .options button:enabled[data-payload='cmd:continue']").click()
    expect(page.locator("#chat .options button:enabled", has_text="16〜18さい")).to_be_visible()


def test_forget_me_clears_the_screen_after_confirming(page: Page) -> None:
    tap(page, "ひとりぼっち・さみしい")
    page.locator(".tools button[data-payload='cmd:forget']").click()
    tap(page, "消す")
    expect(page.locator("#chat")).not_to_contain_text("ひとりぼっち")
    expect(
        page.locator("#chat .options button:enabled[data-payload='cmd:restart']")
    ).to_be_visible()


def test_the_chat_works_with_the_keyboard_alone(page: Page) -> None:
    first = page.locator("#chat .options button:enabled", has_text="ひとりぼっち・さみしい")
    first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#chat .options button:enabled", has_text="16〜18さい")).to_be_visible()
    focused = page.evaluate("document.activeElement.closest('.options') !== null")
    assert focused, "focus moves on to the next question's buttons"
    page.keyboard.press("Enter")
    expect(page.locator("#chat .options button:enabled", has_text="関東")).to_be_visible()


def test_a_browser_in_english_gets_the_chat_in_english(browser: Browser, base_url: str) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(base_url + "/")
    expect(page.locator("#chat")).to_contain_text("not a counsellor")
    expect(page.locator(".tools button[data-payload='cmd:now']")).to_have_text(
        "Talk to someone now"
    )
    assert page.evaluate("document.documentElement.lang") == "en"
    page.locator("#chat .options button:enabled", has_text="Loneliness").click()
    expect(page.locator("#chat .options button:enabled", has_text="16 to 18")).to_be_visible()
    context.close()


def _slow_network(page: Page, latency_ms: int) -> None:
    """A slow phone line: every request takes this long to come back (Chromium's throttling)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency_ms, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def test_a_tap_made_while_an_answer_is_on_its_way_is_not_lost(page: Page) -> None:
    expect(page.locator("#chat")).to_contain_text("カウンセラーでは ありません")
    _slow_network(page, 600)
    tap(page, "ひとりぼっち・さみしい")
    # "わすれて" before the age question has arrived: it waits its turn and is answered
    page.locator(".tools button[data-payload='cmd:forget']").click()
    expect(page.locator("#chat .options button:enabled", has_text="消す")).to_be_visible()
    expect(page.locator("#chat .msg.me")).to_have_count(2)


def test_a_double_tap_answers_the_question_once(page: Page) -> None:
    expect(page.locator("#chat")).to_contain_text("カウンセラーでは ありません")
    _slow_network(page, 400)
    option = page.locator("#chat .options button", has_text="ひとりぼっち・さみしい").first
    option.dblclick()
    expect(page.locator("#chat .options button:enabled", has_text="16〜18さい")).to_be_visible()
    expect(page.locator("#chat .msg.me")).to_have_count(1)


def test_when_a_tap_cannot_be_sent_the_question_stays_open(page: Page) -> None:
    expect(page.locator("#chat")).to_contain_text("カウンセラーでは ありません")
    page.route("**/api/chat", lambda route: route.abort())  # the line drops
    tap(page, "ひとりぼっち・さみしい")
    expect(page.locator("#status")).to_contain_text("119")
    page.unroute("**/api/chat")
    # the same buttons work again: the person is not left with a dead question
    tap(page, "ひとりぼっち・さみしい")
    expect(page.locator("#chat .options button:enabled", has_text="16〜18さい")).to_be_visible()
