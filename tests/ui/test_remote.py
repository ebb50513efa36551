"""Remote hosts: TLS verified by default, a CA bundle or (with a warning) no verification,
a bearer token and proxy headers that reach the server and nothing else."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_tui.chat.conversation import MessageState
from ollama_tui.ui.widgets.status_bar import Connection
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, connected, send, settle, wait_until


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[FakeOllama]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    with FakeOllama(tls=context) as server:
        yield server


async def test_untrusted_certificate_is_refused_with_advice(
    tls_server: FakeOllama, build_app: MakeApp
) -> None:
    assert tls_server.url.startswith("https://")
    app = build_app(tls_server.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.chat.status.connection is Connection.UNREACHABLE)
        await send(pilot, app, "hello?")
        await settle(pilot, app)
        message = app.chat.conversation.messages[-1]
        assert message.state is MessageState.UNSENT
        assert "TLS certificate not trusted" in (message.error or "")
        assert "network.ca_bundle" in (message.error or "")
        assert tls_server.chat_requests() == []


async def test_a_ca_bundle_makes_the_server_trusted(
    tls_server: FakeOllama, build_app: MakeApp, certificate: tuple[Path, Path]
) -> None:
    app = build_app(tls_server.url, ca_bundle=certificate[0])
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "hello over TLS")
        await settle(pilot, app)
        assert app.chat.conversation.messages[-1].state is MessageState.COMPLETE
        assert app.chat.status.warning == ""


async def test_verification_off_works_and_warns(tls_server: FakeOllama, build_app: MakeApp) -> None:
    app = build_app(tls_server.url, verify_tls=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        assert app.chat.status.warning == "TLS not verified"
        assert "TLS not verified" in str(app.chat.status.render())
        assert any("TLS not verified" in n.message for n in app._notifications)
        await send(pilot, app, "hello anyway")
        await settle(pilot, app)
        assert app.chat.conversation.messages[-1].state is MessageState.COMPLETE


async def test_bearer_token_and_headers_reach_the_server_and_nothing_else(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path, state_path: Path
) -> None:
    secret = "sk-very-secret-token"
    app = build_app(fake_ollama.url, api_key=secret, headers={"X-Team": "ml"})
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "hello through the proxy")
        await settle(pilot, app)
        await pilot.press("ctrl+r", "ctrl+r")  # hiding the panel writes the state file

    chats = [r for r in fake_ollama.requests if r.path == "/api/chat"]
    assert chats and all(r.headers["authorization"] == f"Bearer {secret}" for r in chats)
    assert all(r.headers["x-team"] == "ml" for r in fake_ollama.requests)
    written = [p for p in data_dir.rglob("*") if p.is_file()] + [state_path]
    assert len(written) >= 3
    for path in written:
        assert secret.encode() not in path.read_bytes(), f"the API key was written to {path}"
