"""Fitting conversations into the context window: estimates, calibration, strategies, summaries."""

import copy
import json
import math
import random
import re
from pathlib import Path

import pytest

from ollama_tui.chat.context import (
    MESSAGE_OVERHEAD,
    REQUEST_OVERHEAD,
    SUMMARY_PREFIX,
    Calibration,
    ContextPlan,
    TokenEstimator,
    apply_summary,
    effective_num_ctx,
    estimate_text_tokens,
    plan_request,
    reply_reserve,
    request_options,
    summary_request,
)
from ollama_tui.chat.conversation import (
    Conversation,
    MemoryStrategy,
    Message,
    MessageState,
    Summary,
)
from ollama_tui.chat.options import Options
from ollama_tui.chat.store import ConversationStore

SYSTEM = "You are a concise assistant. Answer in plain English and keep code short."
WORDS = ("the", "model", "reads", "every", "token", "of", "prompt", "before", "it", "writes")


def text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def add_turn(conversation: Conversation, rng: random.Random, index: int) -> Message:
    """A user message and its complete reply; returns the user message."""
    message = conversation.add_user_message(f"Question {index}: {text(rng, 10, 50)}")
    reply = conversation.start_reply()
    reply.content = f"Answer {index}: {text(rng, 20, 120)}"
    reply.state = MessageState.COMPLETE
    return message


def long_conversation(turns: int, seed: int = 1) -> Conversation:
    conversation = Conversation(model="llama3.2:latest", system_prompt=SYSTEM)
    rng = random.Random(seed)
    for index in range(turns):
        add_turn(conversation, rng, index)
    return conversation


def plan_for(
    conversation: Conversation,
    calibration: Calibration,
    num_ctx: int = 2048,
    strategy: MemoryStrategy | None = None,
    draft: str = "",
) -> ContextPlan:
    return plan_request(
        conversation,
        num_ctx=num_ctx,
        reserve=reply_reserve(num_ctx, conversation.options.num_predict),
        estimator_for_model=calibration.estimator,
        strategy=strategy,
        draft=draft,
    )


def fake_summary(request: list[dict[str, str]], max_words: int) -> str:
    """What a summarising model might answer: the previous summary plus the questions it has
    just seen, as long as it is allowed to be."""
    content = request[1]["content"]
    so_far = content.split("\n")[1].split() if "(none yet)" not in content else []
    questions = [f"q{n}" for n in re.findall(r"User: Question (\d+):", content)]
    return " ".join([*so_far, *questions][-max_words:])


def room_for_the_prompt(
    num_ctx: int, num_predict: int | None = None, configured: int | None = None
) -> int:
    """num_ctx minus the room the README keeps for the reply: num_predict when set, else
    memory.reply_reserve, else a quarter of the window up to 1024; at most half the window."""
    if num_predict is not None and num_predict > 0:
        reserve = num_predict
    elif configured:
        reserve = configured
    else:
        reserve = min(1024, num_ctx // 4)
    return num_ctx - min(reserve, num_ctx // 2)


def counted(messages: list[dict[str, str]], factor: float = 1.0) -> int:
    """The size of a request counted here, message by message, not by the planner: each
    text's estimate plus the template's tokens around it, plus the request's own."""
    raw = REQUEST_OVERHEAD + sum(
        MESSAGE_OVERHEAD + estimate_text_tokens(message["content"]) for message in messages
    )
    return math.ceil(raw * factor - 1e-9)


def assert_sendable(
    plan: ContextPlan, conversation: Conversation, latest: Message, num_ctx: int = 2048
) -> None:
    assert plan.fits
    assert counted(plan.messages) == plan.estimated_tokens
    assert counted(plan.messages) <= room_for_the_prompt(num_ctx)
    assert plan.messages[0] == {"role": "system", "content": SYSTEM}
    assert plan.messages[-1] == {"role": "user", "content": latest.content}
    turns = [m for m in plan.messages if m["role"] != "system"]
    assert turns[0]["role"] == "user", "a window never starts with a reply cut from its question"


@pytest.mark.parametrize("strategy", [MemoryStrategy.WINDOW, MemoryStrategy.SUMMARY])
def test_200_turns_in_2048_tokens_always_fit(strategy: MemoryStrategy) -> None:
    conversation = Conversation(model="llama3.2:latest", system_prompt=SYSTEM, memory=strategy)
    calibration = Calibration()
    rng = random.Random(7)
    summary_calls: list[list[Message]] = []
    for index in range(200):
        latest = conversation.add_user_message(f"Question {index}: {text(rng, 10, 50)}")
        reply = conversation.start_reply()  # streaming while the request goes out
        plan = plan_for(conversation, calibration)
        while plan.needs_summary:
            assert strategy is MemoryStrategy.SUMMARY
            request = plan.summary_request()
            assert counted(request) <= room_for_the_prompt(2048)
            summary_calls.append(plan.needs_summary)
            answer = fake_summary(request, plan.summary_words)
            apply_summary(conversation, answer, plan.needs_summary, "llama3.2:latest")
            plan = plan_for(conversation, calibration)
        assert_sendable(plan, conversation, latest)
        assert plan.needs_summary is None
        history = conversation.history_messages()
        sent_turns = [m for m in plan.messages if m["role"] != "system"]
        assert plan.omitted_count == len(history) - len(sent_turns)
        if plan.omitted_count:
            assert plan.first_message_id == history[plan.omitted_count].id
        if strategy is MemoryStrategy.SUMMARY and conversation.summary is not None:
            # System prompt, summary, then every message the summary does not cover, verbatim.
            assert plan.summary_used
            assert plan.messages[1] == {
                "role": "system",
                "content": SUMMARY_PREFIX + conversation.summary.text,
            }
            assert plan.omitted_count == conversation.summary.covered_count
            assert history[plan.omitted_count - 1].id == conversation.summary.covers_until
        else:
            assert not plan.summary_used
        reply.content = f"Answer {index}: {text(rng, 20, 120)}"
        reply.state = MessageState.COMPLETE

    assert len(conversation.history_messages()) == 400
    if strategy is MemoryStrategy.WINDOW:
        assert conversation.summary is None and not summary_calls
        return
    # Incremental: each summarising call gets only the turns after what is already covered,
    # and turns are summarised in stretches, not one call per message.
    history = conversation.history_messages()
    position = {message.id: i for i, message in enumerate(history)}
    expected_start = 0
    for covered in summary_calls:
        assert position[covered[0].id] == expected_start
        assert [position[m.id] for m in covered] == list(
            range(expected_start, expected_start + len(covered))
        )
        expected_start += len(covered)
    assert 2 < len(summary_calls) < 60
    assert conversation.summary is not None
    assert conversation.summary.covered_count == expected_start


@pytest.mark.parametrize(
    ("num_ctx", "num_predict", "configured"),
    [
        (2048, None, None),  # a quarter of the window
        (32768, None, None),  # a quarter, but no more than 1024
        (4096, 700, None),  # num_predict
        (4096, -1, 1500),  # no limit on the reply: the configured reserve
        (2048, 4096, None),  # never more than half the window
    ],
)
@pytest.mark.parametrize("strategy", [MemoryStrategy.WINDOW, MemoryStrategy.SUMMARY])
def test_every_request_leaves_the_reply_its_room(
    num_ctx: int, num_predict: int | None, configured: int | None, strategy: MemoryStrategy
) -> None:
    conversation = long_conversation(num_ctx // 40)
    conversation.memory = strategy
    conversation.options.num_predict = num_predict
    calibration = Calibration({conversation.model: (300.0, 200.0)})  # 1.5 tokens per estimated
    room = room_for_the_prompt(num_ctx, num_predict, configured)

    def plan() -> ContextPlan:
        return plan_request(
            conversation,
            num_ctx=num_ctx,
            reserve=reply_reserve(num_ctx, num_predict, configured),
            estimator_for_model=calibration.estimator,
        )

    current = plan()
    assert counted(conversation.request_messages(), 1.5) > room, "the history must not fit"
    rounds = 0
    while current.needs_summary:
        request = current.summary_request()
        assert counted(request, 1.5) <= room
        answer = fake_summary(request, current.summary_words)
        apply_summary(conversation, answer, current.needs_summary, conversation.model)
        current = plan()
        rounds += 1
    assert (rounds > 0) is (strategy is MemoryStrategy.SUMMARY)
    assert current.fits
    assert counted(current.messages, 1.5) <= room
    assert current.messages[-1] == conversation.request_messages()[-1]


def test_summary_request_carries_only_the_previous_summary_and_new_turns() -> None:
    conversation = long_conversation(3)
    first, second = conversation.messages[:2], conversation.messages[2:4]
    previous = apply_summary(conversation, "The user asked question 0.", first, "llama3.2")

    request = summary_request(previous, second, max_words=100)

    assert [m["role"] for m in request] == ["system", "user"]
    assert "at most 100 words" in request[0]["content"]
    assert "The user asked question 0." in request[1]["content"]
    assert f"User: {second[0].content}" in request[1]["content"]
    assert f"Assistant: {second[1].content}" in request[1]["content"]
    assert first[0].content not in request[1]["content"]
    assert "(none yet)" in summary_request(None, first)[1]["content"]


def test_full_sends_everything_and_says_when_it_does_not_fit() -> None:
    conversation = long_conversation(200)
    conversation.memory = MemoryStrategy.FULL
    calibration = Calibration()
    before = copy.deepcopy(conversation.to_dict())

    plan = plan_for(conversation, calibration)

    assert plan.strategy is MemoryStrategy.FULL
    assert not plan.fits
    assert counted(plan.messages) > room_for_the_prompt(2048)
    assert plan.messages == conversation.request_messages()
    assert plan.omitted_count == 0 and plan.needs_summary is None
    # The alternatives the app offers instead fit.
    for other in (MemoryStrategy.WINDOW, MemoryStrategy.SUMMARY):
        alternative = plan_for(conversation, calibration, strategy=other)
        assert alternative.strategy is other
        assert alternative.fits
        assert counted(alternative.messages) <= room_for_the_prompt(2048)
    assert conversation.to_dict() == before


def test_a_short_conversation_is_sent_whole_under_every_strategy() -> None:
    conversation = long_conversation(3)
    for strategy in MemoryStrategy:
        plan = plan_for(conversation, Calibration(), strategy=strategy)
        assert plan.messages == conversation.request_messages()
        assert plan.fits and plan.omitted_count == 0
        assert plan.first_message_id == conversation.messages[0].id
        assert plan.needs_summary is None and not plan.summary_used


def test_the_summary_is_not_used_once_everything_fits_again() -> None:
    conversation = long_conversation(40)
    history = conversation.history_messages()
    apply_summary(conversation, "Earlier questions.", history[:10], "llama3.2")

    small = plan_for(conversation, Calibration(), num_ctx=2048)
    large = plan_for(conversation, Calibration(), num_ctx=32768)

    assert small.summary_used and small.omitted_count >= 10
    assert not large.summary_used
    assert large.messages == conversation.request_messages()


def test_when_summarising_fails_the_app_falls_back_to_window() -> None:
    conversation = long_conversation(100)
    plan = plan_for(conversation, Calibration())
    assert plan.strategy is MemoryStrategy.SUMMARY and plan.needs_summary

    fallback = plan_for(conversation, Calibration(), strategy=MemoryStrategy.WINDOW)

    assert fallback.fits and fallback.needs_summary is None and not fallback.summary_used
    assert fallback.omitted_count > 0
    assert conversation.summary is None


def test_too_long_for_the_budget_is_reported_not_cut() -> None:
    conversation = Conversation(model="llama3.2", system_prompt=SYSTEM)
    conversation.add_user_message("hello")
    reply = conversation.start_reply()
    reply.content, reply.state = "hi", MessageState.COMPLETE
    huge = conversation.add_user_message("word " * 3000)
    for strategy in MemoryStrategy:
        plan = plan_for(conversation, Calibration(), num_ctx=1024, strategy=strategy)
        assert not plan.fits
        assert counted(plan.messages) > room_for_the_prompt(1024)
        assert plan.messages[0]["role"] == "system"
        assert plan.messages[-1] == {"role": "user", "content": huge.content}
        assert plan.needs_summary is None  # summarising could not make room


def test_planning_changes_nothing_in_the_conversation() -> None:
    conversation = long_conversation(120)
    apply_summary(conversation, "Old stuff.", conversation.history_messages()[:6], "m")
    before = copy.deepcopy(conversation.to_dict())

    for strategy in MemoryStrategy:
        plan_for(conversation, Calibration(), strategy=strategy, draft="one more question")

    assert conversation.to_dict() == before


def test_the_draft_counts_as_the_latest_message() -> None:
    conversation = long_conversation(2)
    without = plan_for(conversation, Calibration())
    with_draft = plan_for(conversation, Calibration(), draft="and what about monads?")

    assert with_draft.messages[-1] == {"role": "user", "content": "and what about monads?"}
    assert with_draft.estimated_tokens > without.estimated_tokens
    assert len(conversation.messages) == 4


def test_a_summary_of_messages_no_longer_there_is_ignored() -> None:
    conversation = long_conversation(100)
    conversation.summary = Summary("gone", covers_until="nosuchid", covered_count=5, model="m")

    plan = plan_for(conversation, Calibration())

    assert plan.previous_summary is None and not plan.summary_used
    assert plan.needs_summary and plan.needs_summary[0] is conversation.messages[0]
    assert "(none yet)" in plan.summary_request()[1]["content"]


def test_apply_summary_refuses_empty_text_and_unknown_messages() -> None:
    conversation = long_conversation(3)
    with pytest.raises(ValueError):
        apply_summary(conversation, "   ", conversation.messages[:2], "m")
    with pytest.raises(ValueError):
        apply_summary(
            conversation, "text", [Message(role=conversation.messages[0].role, content="x")], "m"
        )
    assert conversation.summary is None


def test_apply_summary_records_what_it_covers() -> None:
    conversation = long_conversation(5)
    summary = apply_summary(conversation, "  Covered.\n", conversation.messages[:4], "qwen3:0.6b")
    assert conversation.summary is summary
    assert summary == Summary(
        text="Covered.",
        covers_until=conversation.messages[3].id,
        covered_count=4,
        model="qwen3:0.6b",
        created_at=summary.created_at,
    )


# Estimates and calibration


def true_token_count(messages: list[dict[str, str]]) -> int:
    """A stand-in tokenizer that the heuristic does not know: a fixed ratio per character."""
    return 12 + sum(7 + math.ceil(len(m["content"]) / 3.2) for m in messages)


def test_calibration_converges_within_ten_percent() -> None:
    calibration = Calibration()
    model = "llama3.2:latest"
    conversation = long_conversation(30, seed=3)
    probe = conversation.request_messages()
    first_error = abs(
        calibration.estimator(model).request_tokens(probe) / true_token_count(probe) - 1
    )
    assert first_error > 0.10, "the test needs an estimate that starts off wrong"

    for turns in (4, 8, 12, 16):
        sent = long_conversation(turns, seed=turns).request_messages()
        assert calibration.observe(model, sent, true_token_count(sent))

    error = abs(calibration.estimator(model).request_tokens(probe) / true_token_count(probe) - 1)
    assert error < 0.10
    assert calibration.factor("other-model") == 1.0


def test_unbelievable_counts_are_ignored() -> None:
    calibration = Calibration()
    sent = long_conversation(10).request_messages()
    assert not calibration.observe("m", sent, 3)  # only the uncached tail was counted
    assert not calibration.observe("m", sent, 0)
    assert calibration.factor("m") == 1.0


def test_the_factor_stays_in_a_sane_range() -> None:
    calibration = Calibration()
    sent = long_conversation(10).request_messages()
    estimate = calibration.estimator("m").request_tokens(sent)
    for _ in range(20):
        calibration.observe("m", sent, int(estimate * 3.9))
    assert calibration.factor("m") == 3.0


def test_calibration_is_saved_and_loaded(tmp_path: Path) -> None:
    calibration = Calibration()
    sent = long_conversation(10).request_messages()
    calibration.observe("m", sent, 2 * Calibration().estimator("m").request_tokens(sent))
    path = tmp_path / "calibration.json"

    calibration.save(path)

    assert Calibration.load(path).factor("m") == pytest.approx(calibration.factor("m"))
    assert json.loads(path.read_text())["version"] == 1
    path.write_text("{not json")
    assert Calibration.load(path).factor("m") == 1.0
    assert Calibration.load(tmp_path / "missing.json").factor("m") == 1.0
    damaged = {
        "version": 1,
        "models": {"a": {"actual": "x"}, "b": [], "c": {"actual": 2, "estimated": 1}},
    }
    assert Calibration.from_dict(damaged).to_dict()["models"] == {
        "c": {"actual": 2.0, "estimated": 1.0}
    }
    assert Calibration.from_dict(["not", "a", "dict"]).to_dict()["models"] == {}


def test_estimates_are_deterministic_and_grow_with_text() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("hello world") == 3  # (11 / 4 + 2 * 4 / 3) / 2, rounded up
    assert estimate_text_tokens("word " * 100) > estimate_text_tokens("word " * 10)
    assert estimate_text_tokens("日本語の文章です") > estimate_text_tokens("nihongo")
    estimator = TokenEstimator(factor=1.5)
    assert estimator.message_tokens("hello") == math.ceil((4 + estimate_text_tokens("hello")) * 1.5)


# num_ctx, the reply reserve and switching models


@pytest.mark.parametrize(
    ("conversation_value", "default", "model_max", "expected"),
    [
        (None, None, None, 4096),
        (None, 16384, None, 16384),
        (8192, 4096, 131072, 8192),
        (8192, None, 2048, 2048),
        (None, None, 2048, 2048),
    ],
)
def test_effective_num_ctx(
    conversation_value: int | None, default: int | None, model_max: int | None, expected: int
) -> None:
    assert effective_num_ctx(conversation_value, default, model_max) == expected


def test_reply_reserve_and_options() -> None:
    assert reply_reserve(2048, None) == 512
    assert reply_reserve(32768, -1) == 1024
    assert reply_reserve(8192, 300) == 300
    assert reply_reserve(2048, 4096) == 1024  # never more than half the context
    assert reply_reserve(8192, None, configured=2000) == 2000
    assert request_options(Options(temperature=0.2), 2048) == {"temperature": 0.2, "num_ctx": 2048}
    assert request_options(Options(num_ctx=9000), 4096)["num_ctx"] == 4096


def test_switching_model_re_budgets_against_its_maximum() -> None:
    conversation = long_conversation(40)
    conversation.options.num_ctx = 16384
    conversation.memory = MemoryStrategy.WINDOW
    maxima = {"llama3.2:latest": 131072, "tiny:1b": 2048}
    calibration = Calibration()
    asked: list[str] = []

    def estimator_for(model: str) -> TokenEstimator:
        asked.append(model)
        return calibration.estimator(model)

    def plan() -> ContextPlan:
        num_ctx = effective_num_ctx(conversation.options.num_ctx, 4096, maxima[conversation.model])
        return plan_request(
            conversation,
            num_ctx=num_ctx,
            reserve=reply_reserve(num_ctx, None),
            estimator_for_model=estimator_for,
        )

    big = plan()
    conversation.model = "tiny:1b"
    small = plan()

    assert asked == ["llama3.2:latest", "tiny:1b"]
    assert (big.num_ctx, small.num_ctx) == (16384, 2048)
    assert big.omitted_count == 0 and big.fits
    assert counted(big.messages) <= room_for_the_prompt(16384)
    assert small.omitted_count > 0 and small.fits
    assert counted(small.messages) <= room_for_the_prompt(2048)


# Saved with the conversation


def conversation_with_summary() -> Conversation:
    conversation = long_conversation(4)
    conversation.memory = MemoryStrategy.WINDOW
    apply_summary(conversation, "The user asked about «ünïcode».", conversation.messages[:2], "m")
    return conversation


def test_memory_and_summary_round_trip() -> None:
    conversation = conversation_with_summary()
    data = conversation.to_dict()

    assert data["memory"] == "window"
    assert data["summary"]["covered_count"] == 2
    assert Conversation.from_dict(json.loads(json.dumps(data))) == conversation
    assert "summary" not in long_conversation(1).to_dict()


def test_memory_and_summary_round_trip_through_the_store(tmp_path: Path) -> None:
    conversation = conversation_with_summary()
    ConversationStore(tmp_path).save(conversation)
    assert ConversationStore(tmp_path).load(conversation.id) == conversation


@pytest.mark.parametrize(
    ("extra", "memory"),
    [
        ({}, MemoryStrategy.SUMMARY),
        ({"memory": "window"}, MemoryStrategy.WINDOW),
        ({"memory": "goldfish"}, MemoryStrategy.SUMMARY),
        ({"memory": ["full"], "summary": "not an object"}, MemoryStrategy.SUMMARY),
        ({"summary": {"text": 3, "covers_until": "x"}}, MemoryStrategy.SUMMARY),
        ({"summary": {"covers_until": "x"}}, MemoryStrategy.SUMMARY),
    ],
)
def test_old_or_odd_files_load_with_defaults(
    extra: dict[str, object], memory: MemoryStrategy
) -> None:
    data = long_conversation(2).to_dict()
    del data["memory"]
    loaded = Conversation.from_dict({**data, **extra})
    assert loaded.memory is memory
    assert loaded.summary is None
