"""Benchmark 7 — summary memory: how many summarising requests a long conversation costs, and
how large the largest request is.

A conversation of `--turns` turns (~250 tokens a turn: a question and its answer) under summary
memory at `--num-ctx`, sent turn by turn through the app's planner and client to the fake
Ollama (whose summaries ignore the word limit: it quotes the request back until num_predict
stops it). Every request is measured by the app's own estimate and by the fake's
prompt_eval_count, and checked against num_ctx minus the room kept for the reply.

    .venv/bin/python bench/summary_requests.py [--quick] [--turns 200] [--num-ctx 2048]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import parser, write_results

from ollama_tui.chat.context import Calibration, apply_summary, plan_request, reply_reserve
from ollama_tui.chat.conversation import Conversation, MemoryStrategy, MessageState, Options
from ollama_tui.ollama.client import OllamaClient
from tests.fake_ollama import FakeOllama

MODEL = "llama3.2:latest"


async def run(turns: int, num_ctx: int) -> dict[str, int]:
    conversation = Conversation(
        model=MODEL, options=Options(num_ctx=num_ctx), memory=MemoryStrategy.SUMMARY
    )
    calibration = Calibration()
    estimator = calibration.estimator(MODEL)
    reserve = reply_reserve(num_ctx, None)
    figures = {"summary requests": 0, "most rounds in one send": 0, "sends": turns}
    largest = {"summary": 0, "reply": 0, "summary (fake's count)": 0}
    with FakeOllama(token_delay=0) as server:
        client = OllamaClient(server.url)
        try:
            for turn in range(turns):
                conversation.add_user_message(f"Question {turn}: " + "tell me about rivers " * 20)
                plan = plan_request(
                    conversation,
                    num_ctx=num_ctx,
                    reserve=reserve,
                    estimator_for_model=calibration.estimator,
                )
                rounds = 0
                while plan.needs_summary:
                    rounds += 1
                    text = plan.previous_summary.text if plan.previous_summary else None
                    options = {"num_ctx": num_ctx, "num_predict": plan.summary_tokens}
                    for part in plan.summary_parts():
                        request = plan.fold_request(text, part)
                        size = estimator.request_tokens(request)
                        assert size + plan.summary_tokens <= num_ctx and size <= plan.budget
                        answer = await client.chat_once(MODEL, request, options=options)
                        figures["summary requests"] += 1
                        largest["summary"] = max(largest["summary"], size)
                        counted = answer.stats.prompt_eval_count or 0
                        largest["summary (fake's count)"] = max(
                            largest["summary (fake's count)"], counted
                        )
                        text = plan.fit_summary(answer.content)
                    apply_summary(conversation, text or "", plan.needs_summary, MODEL)
                    plan = plan_request(
                        conversation,
                        num_ctx=num_ctx,
                        reserve=reserve,
                        estimator_for_model=calibration.estimator,
                    )
                figures["most rounds in one send"] = max(figures["most rounds in one send"], rounds)
                assert plan.fits
                largest["reply"] = max(largest["reply"], plan.estimated_tokens)
                reply = conversation.start_reply()
                reply.content = f"Answer {turn}: " + "rivers flow to the sea " * 22
                reply.state = MessageState.COMPLETE
        finally:
            await client.aclose()
    return (
        figures
        | {f"largest {name} request": value for name, value in largest.items()}
        | {
            "num_ctx": num_ctx,
            "budget (num_ctx - reply reserve)": num_ctx - reserve,
        }
    )


def main() -> None:
    arguments = parser(__doc__.split("\n")[0])
    arguments.add_argument("--turns", type=int, default=200)
    arguments.add_argument("--num-ctx", type=int, default=2048)
    args = arguments.parse_args()
    turns = 20 if args.quick else args.turns
    figures = asyncio.run(run(turns, args.num_ctx))
    for name, value in figures.items():
        print(f"{name:40} {value:>6}")
    write_results("summary_requests", {"quick": args.quick, "figures": figures})


if __name__ == "__main__":
    main()
