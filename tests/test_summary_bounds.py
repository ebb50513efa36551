"""Summarising never sends a request over the window, whatever the summariser writes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ollama_tui.chat.context import (
    Calibration,
    ContextPlan,
    apply_summary,
    plan_request,
    reply_reserve,
)
from ollama_tui.chat.conversation import Conversation, MemoryStrategy, MessageState, Options

NUM_CTX = 2048
Summariser = Callable[[list[dict[str, str]], int], str]


def echo_everything(request: list[dict[str, str]], num_predict: int) -> str:
    """A model that ignores "at most N words" and num_predict: it repeats its whole prompt."""
    return request[1]["content"] * 2


def plan_for(conversation: Conversation, calibration: Calibration) -> ContextPlan:
    return plan_request(
        conversation,
        num_ctx=NUM_CTX,
        reserve=reply_reserve(NUM_CTX, None),
        estimator_for_model=calibration.estimator,
    )


def send(
    conversation: Conversation, calibration: Calibration, summarise: Summariser
) -> tuple[ContextPlan, list[int], int]:
    """What the app does on a send: plan, fold in rounds, plan again. Returns the final plan,
    the size of every summarising request, and the number of rounds."""
    estimator = calibration.estimator(conversation.model)
    sizes: list[int] = []
    rounds = 0
    plan = plan_for(conversation, calibration)
    while plan.needs_summary:
        rounds += 1
        text = plan.previous_summary.text if plan.previous_summary else None
        for part in plan.summary_parts():
            request = plan.fold_request(text, part)
            size = estimator.request_tokens(request)
            assert size <= plan.budget, "a summarising request over the budget"
            assert size + plan.summary_tokens <= NUM_CTX, "no room left for the summary"
            sizes.append(size)
            text = plan.fit_summary(summarise(request, plan.summary_tokens))
            assert estimator.message_tokens(text) <= plan.summary_tokens + 4
        apply_summary(conversation, text or "", plan.needs_summary, "m")
        plan = plan_for(conversation, calibration)
    return plan, sizes, rounds


def new_conversation() -> Conversation:
    return Conversation(
        model="m",
        system_prompt="You are terse.",
        options=Options(num_ctx=NUM_CTX),
        memory=MemoryStrategy.SUMMARY,
    )


def reply(conversation: Conversation, text: str) -> None:
    message = conversation.start_reply()
    message.content = text
    message.state = MessageState.COMPLETE


def test_200_turns_with_a_summariser_that_ignores_every_limit() -> None:
    conversation = new_conversation()
    calibration = Calibration()
    all_sizes: list[int] = []
    for turn in range(200):
        conversation.add_user_message(f"Question {turn}: " + "tell me about rivers " * 40)
        plan, sizes, rounds = send(conversation, calibration, echo_everything)
        assert plan.fits and rounds <= 1
        all_sizes += sizes
        reply(conversation, f"Answer {turn}: " + "rivers flow to the sea " * 45)
    assert 0 < len(all_sizes) <= 110  # about one request every second send at ~500 tokens a turn
    assert max(all_sizes) <= NUM_CTX - reply_reserve(NUM_CTX, None)


SPACED = ("pasted: ", "lorem ipsum dolor ", "That is long.", "and rivers? ", "Rivers. ")
UNSPACED = ("貼り付け：", "川は海へ流れます。", "長いですね。", "川はどうですか。", "川です。")
"""A paste, its unit, the answer, a question's unit, an answer's unit. Japanese or Chinese text
has no spaces to cut at: its cuts must still count tokens."""


@pytest.mark.parametrize("script", [SPACED, UNSPACED], ids=["spaced", "unspaced"])
@pytest.mark.parametrize("size", [3_000, 20_000])
def test_a_message_too_long_for_one_request_is_folded_in_bounded_steps(
    script: tuple[str, str, str, str, str], size: int
) -> None:
    paste, unit, answer, question, answer_unit = script
    conversation = new_conversation()
    calibration = Calibration()
    estimator = calibration.estimator(conversation.model)
    budget = NUM_CTX - reply_reserve(NUM_CTX, None)
    per_unit = len(unit.split()) if " " in unit else len(unit)  # words, or characters
    conversation.add_user_message(paste + unit * (size // per_unit))
    reply(conversation, answer)
    for turn in range(6):
        conversation.add_user_message(f"{turn}: " + question * 30)
        plan, sizes, rounds = send(conversation, calibration, echo_everything)
        assert plan.fits and rounds <= 1
        assert all(size <= budget for size in sizes)
        assert estimator.request_tokens(plan.messages) <= budget
        if sizes and script is SPACED:
            assert len(sizes) >= size // 1_000  # several steps, each within the window
        reply(conversation, answer_unit * 40)
    assert conversation.summary is not None


def test_an_overlong_summary_from_the_file_is_cut_before_it_is_sent_to_fold() -> None:
    conversation = new_conversation()
    calibration = Calibration()
    for turn in range(12):
        conversation.add_user_message(f"Question {turn}: " + "tell me about rivers " * 40)
        reply(conversation, "rivers flow to the sea " * 45)
    apply_summary(conversation, "remembered " * 5_000, conversation.history_messages()[:2], "m")
    conversation.add_user_message("one more")
    plan, sizes, _ = send(conversation, calibration, echo_everything)
    assert plan.fits and sizes
