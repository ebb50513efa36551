"""`ollama-tui serve`: the missing extra, the arguments, and who the server lets in."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ollama_tui import cli
from ollama_tui.chat.conversation import MessageState
from tests.fake_ollama import FakeOllama
from tests.served import Served, saved

pytest.importorskip("textual_serve", reason="needs the web extra: pip install -e '.[web]'")

from ollama_tui import serve  # imported once the extra is known to be there


def test_without_the_web_extra_it_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "textual_serve", None)  # as if it were not installed
    assert cli.main(["serve", "--data-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "ollama-tui: serve needs textual-serve: pip install 'ollama-tui[web]'\n"
    )
    assert captured.out == ""


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--port", "0"], "expected a port number from 1 to 65535, got '0'"),
        (["--public-url", "example.com"], "--public-url: expected an http:// or https:// URL"),
        (["--token", ""], "--token: expected a secret, got an empty string"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    args: list[str], error: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["serve", "--data-dir", str(tmp_path), *args]) == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]  # argparse prints usage first
    assert error in last_line


def test_a_port_in_use_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = cli.main(["serve", "--data-dir", str(tmp_path), "--port", str(port)])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"ollama-tui: cannot listen on 127.0.0.1 port {port}: ")


def test_a_token_is_demanded_beyond_loopback_only() -> None:
    assert serve.demanded_token("127.0.0.1", None) is None
    assert serve.demanded_token("localhost", None) is None
    assert serve.demanded_token("::1", None) is None
    assert serve.demanded_token("127.0.0.1", "mine") == "mine"
    assert serve.demanded_token("0.0.0.0", "mine") == "mine"
    made = serve.demanded_token("0.0.0.0", None)
    assert made is not None and len(made) >= 32
    assert made != serve.demanded_token("192.168.1.5", None)
    assert serve.demanded_token("my-laptop.lan", None) is not None
    # on loopback behind a proxy, the proxy's address is what the network reaches
    assert serve.demanded_token("127.0.0.1", None, "https://chat.example.org") is not None
    assert serve.demanded_token("127.0.0.1", None, "http://localhost:8000") is None


def test_the_printed_link_carries_the_token() -> None:
    link = serve.browser_url(host="0.0.0.0", port=8000, public_url=None, token="a b")
    assert link == f"http://{socket.gethostname()}:8000/?token=a%20b"
    assert serve.browser_url(host="::1", port=81, public_url=None, token=None) == "http://[::1]:81/"
    proxied = serve.browser_url(host="127.0.0.1", port=1, public_url="https://x.org/", token="t")
    assert proxied == "https://x.org/?token=t"


def test_every_tab_runs_the_app_with_the_same_settings() -> None:
    command = serve.app_command(["--data-dir", "/srv/my chats", "--host", "http://h:1"])
    assert command.endswith("-m ollama_tui --data-dir '/srv/my chats' --host http://h:1")


def test_the_server_itself_loads_no_textual() -> None:
    """Only the tabs' apps run Textual; the server stays small."""
    code = "import sys, ollama_tui.serve; print('textual' in sys.modules, 'httpx' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_a_request_without_the_token_is_refused(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    with Served(tmp_path, fake_ollama.url, token_env="s3cret") as served:
        for path in ("/", "/ws", "/static/js/textual.js", "/download/any", "/?token=wrong"):
            response = httpx.get(served.base + path)
            assert response.status_code == 403, path
            assert "token" in response.text
        assert served.link == f"{served.base}/?token=s3cret"

        page = httpx.get(f"{served.base}/?token=s3cret")
        assert page.status_code == 200
        assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in page.text
        cookie = page.cookies[f"ollama-tui-token-{served.port}"]
        assert cookie == "s3cret"
        assert "httponly" in page.headers["set-cookie"].lower()
        assert "samesite=strict" in page.headers["set-cookie"].lower()
        with httpx.Client(base_url=served.base, cookies=page.cookies) as browser:
            assert browser.get("/static/js/textual.js").status_code == 200
            assert browser.get("/").status_code == 200
            # a page of another site opening the app's websocket, even with the cookie
            other_site = browser.get("/ws", headers={"Origin": "http://evil.example"})
            assert other_site.status_code == 403
    assert served.process.returncode == 0


def test_without_a_token_only_loopback_names_are_served(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    with Served(tmp_path, fake_ollama.url) as served:
        assert served.link == f"{served.base}/"
        assert httpx.get(served.base).status_code == 200
        localhost = httpx.get(served.base, headers={"Host": f"localhost:{served.port}"})
        assert localhost.status_code == 200
        assert f"ws://localhost:{served.port}/ws" in localhost.text
        # a site whose name was rebound to 127.0.0.1 after its page loaded
        rebound = httpx.get(served.base, headers={"Host": f"evil.example:{served.port}"})
        assert rebound.status_code == 403
        websocket = httpx.get(f"{served.base}/ws", headers={"Origin": "http://evil.example"})
        assert websocket.status_code == 403


@pytest.mark.parametrize("how", ["the tab closes", "the server stops"])
async def test_a_reply_still_arriving_is_kept_when_its_tab_goes_away(
    how: str, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """A browser tab speaks to its app over a websocket (as textual.js does); when the tab
    closes or the server is stopped, the app quits and keeps what the reply had sent."""
    import aiohttp

    answer = " ".join(f"word{i}" for i in range(200))  # ~25 s at 0.1 s a token
    fake_ollama.queue_reply(answer)
    fake_ollama.token_delay = 0.1
    with Served(tmp_path, fake_ollama.url, "--token", "t", model="llama3.2:latest") as served:
        async with aiohttp.ClientSession() as session:
            tab = await session.ws_connect(f"{served.base}/ws?token=t&width=100&height=30")
            await tab.send_json(["resize", {"width": 100, "height": 30}])
            await fake_ollama.wait_for_requests_async("/api/tags", 1, timeout=60)
            await tab.send_json(["stdin", "keep me\r"])
            # the app saves a streaming reply every 2 s (read back as interrupted): words arrived
            await asyncio.to_thread(wait_for_reply, served.data_dir, MessageState.INTERRUPTED)
            if how == "the tab closes":
                await tab.close()
                await asyncio.to_thread(wait_for_reply, served.data_dir, MessageState.CANCELLED)
            else:  # Ctrl+C with the tab still open
                await asyncio.to_thread(served.stop)
                assert served.process.returncode == 0
    (conversation,) = saved(served.data_dir)
    user, reply = conversation.messages
    assert (user.role, user.content, user.state) == ("user", "keep me", MessageState.COMPLETE)
    assert reply.state is MessageState.CANCELLED  # as when the user stops it: "stopped"
    assert reply.content and answer.startswith(reply.content) and reply.content != answer


def wait_for_reply(data_dir: Path, state: MessageState, timeout: float = 30.0) -> None:
    """Poll the saved conversations until a reply with some text is in `state`."""
    deadline = time.monotonic() + timeout
    while not any(
        message.role == "assistant" and message.content and message.state is state
        for conversation in saved(data_dir)
        for message in conversation.messages
    ):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {state} reply with text was saved")
        time.sleep(0.1)
