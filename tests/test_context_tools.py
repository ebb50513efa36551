"""The memory planner with tool calls: a call and its result are always sent (or summarised)
together, and what is sent carries the calls and the tool names."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ollama_tui.chat.context import Calibration, apply_summary, plan_request, reply_reserve
from ollama_tui.chat.conversation import Conversation, MemoryStrategy, Message, MessageState, Role
from ollama_tui.chat.tools import Decision, ToolCall
from tests.test_context import SYSTEM, fake_summary, text


def add_tool_turn(conversation: Conversation, rng: random.Random, index: int, calls: int) -> None:
    """A question, a reply that calls tools, their results, and the answer."""
    conversation.add_user_message(f"Question {index}: {text(rng, 5, 30)}")
    calling = conversation.start_reply()
    calling.state = MessageState.COMPLETE
    calling.tool_calls = [
        ToolCall("lookup", {"query": text(rng, 2, 6)}, id=f"call_{index:04d}{n:04d}", index=n)
        for n in range(calls)
    ]
    for call in calling.tool_calls:
        call.decision = Decision.ONCE
        conversation.add_tool_result(call, f"Result {index}: {text(rng, 30, 200)}")
    answer = conversation.start_reply()
    answer.content = f"Answer {index}: {text(rng, 10, 60)}"
    answer.state = MessageState.COMPLETE


def assert_calls_with_results(messages: list[dict[str, Any]]) -> None:
    """Every reply's calls are followed by exactly their results, and no result stands alone."""
    position = 0
    while position < len(messages):
        message = messages[position]
        assert message["role"] != "tool", f"a tool result without its call at {position}"
        calls = message.get("tool_calls") or []
        results = messages[position + 1 : position + 1 + len(calls)]
        assert [m["role"] for m in results] == ["tool"] * len(calls)
        assert [m["tool_call_id"] for m in results] == [c["id"] for c in calls]
        position += 1 + len(calls)


@pytest.mark.parametrize("strategy", [MemoryStrategy.WINDOW, MemoryStrategy.SUMMARY])
def test_calls_and_results_stay_together_in_every_plan(strategy: MemoryStrategy) -> None:
    conversation = Conversation(model="llama3.2:latest", system_prompt=SYSTEM, memory=strategy)
    calibration = Calibration()
    rng = random.Random(3)
    for index in range(60):
        add_tool_turn(conversation, rng, index, calls=1 + index % 3)
        conversation.add_user_message(f"Follow-up {index}")
        plan = plan_request(
            conversation,
            num_ctx=2048,
            reserve=reply_reserve(2048, None),
            estimator_for_model=calibration.estimator,
        )
        while plan.needs_summary:
            history = conversation.history_messages()
            end = history.index(plan.needs_summary[-1]) + 1
            assert end == len(history) or history[end].role is not Role.TOOL
            request = plan.summary_request()
            assert "[called the tool lookup with" in request[1]["content"]
            answer = fake_summary(request, plan.summary_words)
            apply_summary(conversation, answer, plan.needs_summary, "llama3.2:latest")
            plan = plan_request(
                conversation,
                num_ctx=2048,
                reserve=reply_reserve(2048, None),
                estimator_for_model=calibration.estimator,
            )
        turns = [m for m in plan.messages if m["role"] != "system"]
        assert_calls_with_results(turns)
        conversation.messages[-1].state = MessageState.COMPLETE
        reply = conversation.start_reply()
        reply.content, reply.state = "Noted.", MessageState.COMPLETE


def test_a_turn_too_long_to_summarise_at_once_is_never_cut_between_call_and_result() -> None:
    conversation = Conversation(model="llama3.2:latest", memory=MemoryStrategy.SUMMARY)
    rng = random.Random(5)
    conversation.add_user_message("Look up everything.")
    calling = conversation.start_reply()
    calling.state = MessageState.COMPLETE
    calling.tool_calls = [ToolCall("lookup", {"n": n}, id=f"call_{n:08d}") for n in range(6)]
    for call in calling.tool_calls:
        conversation.add_tool_result(call, text(rng, 300, 300))
    answer = conversation.start_reply()
    answer.content, answer.state = "Done.", MessageState.COMPLETE
    conversation.add_user_message("And now?")
    calibration = Calibration()
    plan = plan_request(
        conversation, num_ctx=1024, reserve=256, estimator_for_model=calibration.estimator
    )
    assert plan.needs_summary
    history = conversation.history_messages()
    end = history.index(plan.needs_summary[-1]) + 1
    assert history[end].role is not Role.TOOL


def test_the_plan_sends_calls_and_tool_names() -> None:
    conversation = Conversation(model="llama3.2:latest")
    add_tool_turn(conversation, random.Random(1), 0, calls=1)
    plan = plan_request(
        conversation, num_ctx=8192, reserve=1024, estimator_for_model=Calibration().estimator
    )
    assert plan.messages == conversation.request_messages()
    calling: Message = conversation.messages[1]
    assert plan.messages[1]["tool_calls"] == [
        {
            "id": "call_00000000",
            "function": {
                "index": 0,
                "name": "lookup",
                "arguments": calling.tool_calls[0].arguments,
            },
        }
    ]
    assert plan.messages[2]["tool_name"] == "lookup"
