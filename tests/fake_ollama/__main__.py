"""`python -m tests.fake_ollama`: serve until Ctrl+C, for pointing the real app at it."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from tests.fake_ollama.catalogue import DEFAULT_MODELS, VISION_MODELS, synthetic_models
from tests.fake_ollama.replies import CONTENT_TRIGGERS, FAULTS
from tests.fake_ollama.server import FakeOllama


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until Ctrl+C, for pointing the real app at a fake server."""
    parser = argparse.ArgumentParser(description="A fake Ollama server for trying ollama-tui.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--token-delay", type=float, default=0.03, help="seconds between tokens")
    parser.add_argument("--load-delay", type=float, default=0.0, help="seconds before a reply")
    parser.add_argument("--pull-speed", type=float, default=50e6, help="bytes/s of a pull")
    parser.add_argument(
        "--vision", action="store_true", help="install the vision models too (gemma3:4b, llava:7b)"
    )
    parser.add_argument(
        "--models",
        type=int,
        metavar="N",
        help="install N synthetic models instead (a server with very many models)",
    )
    args = parser.parse_args(argv)
    models = [*VISION_MODELS, *DEFAULT_MODELS] if args.vision else None
    if args.models is not None:
        models = synthetic_models(args.models)
    server = FakeOllama(
        models=models,
        host=args.host,
        port=args.port,
        token_delay=args.token_delay,
        load_delay=args.load_delay,
        pull_speed=args.pull_speed,
    ).start()
    triggers = " ".join([*CONTENT_TRIGGERS, *(f"#{name}" for name in sorted(FAULTS))])
    print(f"fake Ollama listening on {server.url}", flush=True)
    listed = [m.name for m in server.models[:20]]
    more = f" and {len(server.models) - 20:,} more" if len(server.models) > 20 else ""
    print(f"models: {', '.join(listed)}{more}", flush=True)
    pullable = [m.name for m in server.catalogue if server._find(m.name) is None]
    print(f"to pull: {', '.join(pullable)}", flush=True)
    print(f"trigger words: {triggers}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
