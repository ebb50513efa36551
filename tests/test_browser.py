"""`ollama-tui serve` in a real headless Chromium: type, send, get the reply saved, copy it,
and do the same in a second tab (its own app on the same conversations).

Needs Chromium and chromedriver (Debian: `apt-get install chromium chromium-driver`; .ci/run
installs them) and the web extra; without them the test is skipped and says why. The browser's
screenshots are kept in test-artifacts/ at the top of the repository: browser.png once the
reply is saved, browser-last.png as the test left the page (pass or fail).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fake_ollama import FakeOllama
from tests.served import Served, saved

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,720",
    # The page asks for a web font from the internet; nothing but loopback is looked up.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)
MODEL = "mistral:7b"  # not the first model, so the tabs are seen to get the --model flag


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """A headless Chromium driven by Selenium, with a fresh profile; skipped, with the reason,
    where the browser or the packages are missing."""
    pytest.importorskip("textual_serve", reason="needs the web extra: pip install -e '.[web]'")
    pytest.importorskip("selenium", reason="needs selenium: pip install -e '.[test]'")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip(
            "needs Chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    try:
        yield driver
    finally:
        driver.quit()


def poll(
    condition: Callable[[], object], what: str, timeout: float = 60.0, interval: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def replied(data_dir: Path, prompt: str, reply: str) -> bool:
    """Whether a saved conversation has `prompt` answered by the whole `reply`."""
    return any(
        [(m.role, m.content) for m in c.messages[-2:]] == [("user", prompt), ("assistant", reply)]
        for c in saved(data_dir)
    )


def open_tab(browser: WebDriver, link: str, fake_ollama: FakeOllama, tab: int) -> WebElement:
    """Open `link` (in a new tab after the first), wait for that tab's app, and return the
    element that takes its keys."""
    from selenium.webdriver.common.by import By

    if tab > 1:
        browser.switch_to.new_window("tab")
    browser.get(link)
    body = browser.find_element(By.TAG_NAME, "body")
    poll(lambda: "-first-byte" in (body.get_attribute("class") or ""), "the app's first frame")
    # Each tab's app lists the models once it is up; keys typed from then on reach the prompt.
    fake_ollama.wait_for_requests("/api/tags", tab, timeout=60)
    return browser.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")


def test_messages_typed_in_browser_tabs_are_answered_saved_and_copied(
    browser: WebDriver, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    reply = "Hello from the fake server, **in a browser**."
    fake_ollama.queue_reply(reply)
    fake_ollama.queue_reply("From the second tab.")
    ARTIFACTS.mkdir(exist_ok=True)
    with Served(tmp_path, fake_ollama.url, "--token", "t0ken", model=MODEL) as served:
        try:
            keyboard = open_tab(browser, served.link, fake_ollama, tab=1)
            keyboard.send_keys("hello from a browser", Keys.ENTER)
            fake_ollama.wait_for_requests("/api/chat", 1, timeout=60)
            request = fake_ollama.chat_requests()[0]
            assert request["model"] == MODEL
            assert request["messages"][-1]["content"] == "hello from a browser"
            poll(lambda: replied(served.data_dir, "hello from a browser", reply), "the reply")
            browser.save_screenshot(str(ARTIFACTS / "browser.png"))

            # Copying (OSC 52) reaches the browser's clipboard: into the messages, copy the reply.
            permissions = ["clipboardReadWrite", "clipboardSanitizedWrite"]
            browser.execute_cdp_cmd(
                "Browser.grantPermissions", {"origin": served.base, "permissions": permissions}
            )
            into_messages = ActionChains(browser).key_down(Keys.CONTROL).send_keys(Keys.UP)
            into_messages.key_up(Keys.CONTROL).perform()
            paste = "navigator.clipboard.readText().then(arguments[0], () => arguments[0](''))"

            def copy() -> bool:
                # again while the first "c" raced ahead of the focus move and went to the prompt
                keyboard.send_keys("c")
                return browser.execute_async_script(paste) == reply

            poll(copy, "the reply in the browser's clipboard", interval=1.0)

            # A second tab is an app of its own, on the same conversations.
            keyboard = open_tab(browser, served.link, fake_ollama, tab=2)
            keyboard.send_keys("and from another tab", Keys.ENTER)
            expected = ("and from another tab", "From the second tab.")
            poll(lambda: replied(served.data_dir, *expected), "the second tab's reply")
            # A new tab, like a relaunch, reopens the conversation last open: both exchanges
            # are in it, in order, written by two app processes.
            [conversation] = saved(served.data_dir)
            assert [m.content for m in conversation.messages] == [
                "hello from a browser",
                reply,
                *expected,
            ]
            assert len(tab_processes(served.data_dir)) == 2
        finally:  # how the test left the page, pass or fail
            browser.save_screenshot(str(ARTIFACTS / "browser-last.png"))
    assert served.process.returncode == 0
    assert not tab_processes(served.data_dir), "a tab's app outlived the server"


def tab_processes(data_dir: Path) -> list[str]:
    """Running processes whose command line names `data_dir` (the tabs' apps)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:  # the process ended while we looked
            continue
        if str(data_dir).encode() in arguments and b"serve" not in arguments:
            found.append(cmdline.parent.name)
    return found
