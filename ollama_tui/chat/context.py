"""What is sent: fitting a conversation's history into the model's context window.

Ollama silently drops the oldest part of a prompt longer than num_ctx (the system prompt first),
so every request is planned here against an explicit budget: num_ctx minus room for the reply.
Tokens are estimated with a cheap heuristic, calibrated per model from the server's own
prompt_eval_count. Planning never changes a conversation; only `apply_summary` stores a summary.

How the app sends a message under the conversation's memory strategy::

    plan = plan_request(conversation, num_ctx=..., reserve=..., estimator_for_model=...)
    while plan.needs_summary:                     # SUMMARY only; zero or one round normally
        text = plan.previous_summary.text if plan.previous_summary else None
        for part in plan.summary_parts():         # one part unless a message is very long
            answer = <non-streamed /api/chat with plan.fold_request(text, part),
                      options num_ctx=plan.num_ctx, num_predict=plan.summary_tokens>
            text = plan.fit_summary(answer)       # on error: WINDOW
        apply_summary(conversation, text, plan.needs_summary, model)
        plan = plan_request(...)                  # same arguments

Every summarising request fits num_ctx with room for `summary_tokens`, the summary it asks for
(sent as num_predict); a summary that still comes back longer (by this module's estimate) is
cut to that length before it is used, so no later request grows with it.
    if not plan.fits: <warn; for FULL offer WINDOW and SUMMARY>
    <send plan.messages with request_options(conversation.options, plan.num_ctx)>
    calibration.observe(model, plan.messages, prompt_eval_count)   # when the reply is done
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ollama_tui.atomic import write_atomic
from ollama_tui.chat.attachments import Attachment, content_with_files, image_tokens, images_of
from ollama_tui.chat.conversation import (
    Conversation,
    MemoryStrategy,
    Message,
    Role,
    Summary,
)
from ollama_tui.chat.options import Options
from ollama_tui.chat.validation import parse_json

MESSAGE_OVERHEAD = 4
"""Tokens the chat template adds around each message (role header, separators)."""
REQUEST_OVERHEAD = 3
"""Tokens the chat template adds once per request (the header of the reply to come)."""
FALLBACK_NUM_CTX = 4096
SUMMARY_PREFIX = "Summary of the earlier conversation:\n"
KEEP_FRACTION = 0.5
"""After summarising, the turns kept verbatim fill at most this share of the room left, so the
next turns fit without summarising again at once."""

MIN_FOLD = 64
"""Fewest tokens of transcript worth a summarising request; with less room (a tiny num_ctx)
summary memory sends the latest turns that fit, as window memory does."""
FOLD_SLACK = 8
"""Tokens kept spare in a summarising request for rounding where its parts are joined."""

MIN_FACTOR, MAX_FACTOR = 0.5, 3.0
MIN_RATIO, MAX_RATIO = 0.25, 4.0
"""Observations outside this ratio to the estimate are not believed: servers that count only the
uncached part of the prompt, or a prompt that was truncated, report far fewer tokens."""
CALIBRATION_DECAY = 0.7
CALIBRATION_PRIOR = 200
"""Weight, in tokens, of the uncalibrated factor 1.0: one short prompt cannot swing the factor."""
CALIBRATION_VERSION = 1
_CACHE_LIMIT = 50_000
_ROLE_NAMES = {role: role.value for role in Role}  # Role.value is slow in a loop of thousands


def estimate_text_tokens(text: str) -> int:
    """Uncalibrated tokens of a text: the mean of chars/4 and 4/3 per word, plus extra for
    non-ASCII characters (which tokenizers split more finely)."""
    if not text:
        return 0
    extra_bytes = 0 if text.isascii() else len(text.encode()) - len(text)
    return math.ceil((len(text) / 4 + len(text.split()) * 4 / 3) / 2 + extra_bytes / 2)


class TokenEstimator:
    """Estimated prompt tokens for one model: the heuristic times the model's calibration.

    Per-message estimates are cached by content, so planning a long conversation again (on
    every keystroke, for the meter) costs a dictionary lookup per message.
    """

    def __init__(self, factor: float = 1.0, cache: dict[str, int] | None = None) -> None:
        self.factor = factor
        self._cache: dict[str, int] = {} if cache is None else cache

    def message_tokens(self, content: str) -> int:
        """Calibrated tokens of one message with this content, template overhead included."""
        return self._scale(self._raw_message(content))

    def request_tokens(self, messages: Iterable[Mapping[str, Any]]) -> int:
        """Calibrated tokens of a whole /api/chat request with these messages."""
        return self._scale(self._raw_request(messages))

    def _raw_message(self, content: str) -> int:
        raw = self._cache.get(content)
        if raw is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            raw = self._cache[content] = MESSAGE_OVERHEAD + estimate_text_tokens(content)
        return raw

    def _raw_request(self, messages: Iterable[Mapping[str, Any]]) -> int:
        return REQUEST_OVERHEAD + sum(self._raw_message(_costed_text(m)) for m in messages)

    def _scale(self, raw: int) -> int:
        return math.ceil(raw * self.factor - 1e-9)

    def _raw_limit(self, budget: int) -> int:
        """The largest uncalibrated count whose calibrated estimate is within `budget`."""
        if budget <= 0:
            return 0
        raw = math.floor(budget / self.factor)
        while raw > 0 and self._scale(raw) > budget:
            raw -= 1
        while self._scale(raw + 1) <= budget:
            raw += 1
        return raw


EstimatorForModel = Callable[[str], TokenEstimator]


class Calibration:
    """Per-model correction of the token heuristic, learnt from prompt_eval_count.

    For each model it keeps exponentially decayed sums of actual and estimated prompt tokens;
    the factor is their ratio, so long prompts weigh more than short ones (whose fixed template
    tokens would mislead) and old observations fade.
    """

    def __init__(self, sums: dict[str, tuple[float, float]] | None = None) -> None:
        self._sums: dict[str, tuple[float, float]] = dict(sums or {})
        self._cache: dict[str, int] = {}

    def factor(self, model: str) -> float:
        """Actual tokens per estimated token for `model`; 1.0 until it has been observed."""
        actual, estimated = self._sums.get(model, (CALIBRATION_PRIOR, CALIBRATION_PRIOR))
        return min(MAX_FACTOR, max(MIN_FACTOR, actual / estimated))

    def estimator(self, model: str) -> TokenEstimator:
        """An estimator for `model` with its current factor (pass as `estimator_for_model`)."""
        return TokenEstimator(self.factor(model), self._cache)

    def observe(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        actual: int,
        image_tokens: int = 0,
    ) -> bool:
        """Learn from a reply: the `messages` that were sent (and the uncalibrated estimate of
        their images) and the prompt_eval_count the server reported for them. Returns False
        when the count was not believable and ignored."""
        estimated = TokenEstimator(cache=self._cache)._raw_request(messages) + image_tokens
        if actual <= 0 or not MIN_RATIO <= actual / estimated <= MAX_RATIO:
            return False
        old_actual, old_estimated = self._sums.get(model, (CALIBRATION_PRIOR, CALIBRATION_PRIOR))
        self._sums[model] = (
            old_actual * CALIBRATION_DECAY + actual,
            old_estimated * CALIBRATION_DECAY + estimated,
        )
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CALIBRATION_VERSION,
            "models": {
                model: {"actual": actual, "estimated": estimated}
                for model, (actual, estimated) in self._sums.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Any) -> Calibration:
        """Read saved calibration; anything unreadable is skipped (it is only a refinement)."""
        sums: dict[str, tuple[float, float]] = {}
        if not isinstance(data, dict) or data.get("version") != CALIBRATION_VERSION:
            return cls()
        models = data.get("models")
        for model, item in models.items() if isinstance(models, dict) else ():
            if not isinstance(item, dict):
                continue
            actual, estimated = item.get("actual"), item.get("estimated")
            if _positive_number(actual) and _positive_number(estimated):
                sums[str(model)] = (float(actual), float(estimated))
        return cls(sums)

    @classmethod
    def load(cls, path: Path) -> Calibration:
        """Read the calibration file; a missing or damaged one gives an empty calibration."""
        try:
            return cls.from_dict(parse_json(path.read_bytes()))
        except (OSError, ValueError):
            return cls()

    def save(self, path: Path) -> None:
        """Write the calibration file atomically; raises OSError."""
        write_atomic(path, json.dumps(self.to_dict(), ensure_ascii=False).encode())


def _positive_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def effective_num_ctx(
    conversation_num_ctx: int | None,
    default_num_ctx: int | None,
    model_max: int | None,
    fallback: int = FALLBACK_NUM_CTX,
) -> int:
    """The num_ctx to send: the conversation's, else the config default, else `fallback`;
    never above the model's own maximum (from /api/show) when that is known."""
    num_ctx = conversation_num_ctx or default_num_ctx or fallback
    return min(num_ctx, model_max) if model_max else num_ctx


def reply_reserve(num_ctx: int, num_predict: int | None, configured: int | None = None) -> int:
    """Tokens kept free for the reply: num_predict when it is a limit, else the configured
    reserve, else a quarter of the context up to 1024; at most half of num_ctx either way."""
    if num_predict is not None and num_predict > 0:
        reserve = num_predict
    elif configured is not None:
        reserve = configured
    else:
        reserve = min(1024, num_ctx // 4)
    return max(0, min(reserve, num_ctx // 2))


def request_options(options: Options, num_ctx: int) -> dict[str, int | float]:
    """The `options` object for /api/chat, with num_ctx always set explicitly."""
    return {**options.to_request(), "num_ctx": num_ctx}


def summary_words(budget: int) -> int:
    """How long a summary may be for a request budget: about an eighth of it, 60 to 400 words."""
    return max(60, min(400, budget // 8))


@dataclass(frozen=True, slots=True)
class ContextPlan:
    """What to send for the next request, and what it costs against the budget."""

    messages: list[dict[str, Any]]
    """Exactly what to send: system prompt first, then the summary if used, then turns."""
    estimated_tokens: int
    budget: int
    """num_ctx minus the room kept for the reply."""
    num_ctx: int
    strategy: MemoryStrategy
    """The strategy this plan applied (the conversation's, or the override)."""
    fits: bool
    omitted_count: int
    """Messages of the conversation's history not sent verbatim (summarised or dropped)."""
    first_message_id: str | None
    """The earliest message sent verbatim: where the model's memory begins on screen."""
    summary_used: bool
    needs_summary: list[Message] | None
    """SUMMARY: older messages to fold into the summary before sending; None if nothing."""
    previous_summary: Summary | None
    """The conversation's summary when it still matches its messages: what the fold extends."""
    summary_words: int
    images: dict[int, list[Attachment]]
    """The images to send with `messages[i]`, by i (see attachments.with_images)."""
    image_tokens: int
    """The uncalibrated estimate of those images, for `Calibration.observe`."""
    summary_tokens: int = 0
    """The longest summary wanted, in tokens: num_predict of the summarising requests."""
    fold_cap: int = 0
    """Uncalibrated tokens of transcript one summarising request may carry."""
    estimator: TokenEstimator = field(default_factory=TokenEstimator, repr=False, compare=False)

    def summary_parts(self) -> list[str]:
        """The transcript of `needs_summary` in parts that each fit one summarising request:
        whole messages where they fit, a message too long for one request cut (see `_cut`)."""
        if not self.needs_summary:
            raise ValueError("nothing to summarise")
        cap = max(self.fold_cap, 1)
        parts: list[str] = []
        current: list[str] = []
        used = 0
        for message in self.needs_summary:
            for piece in _pieces(_transcript_line(message), cap, self.estimator):
                cost = self.estimator._raw_message(piece)
                if current and used + cost > cap:
                    parts.append("\n\n".join(current))
                    current, used = [], 0
                current.append(piece)
                used += cost
        parts.append("\n\n".join(current))
        return parts

    def fold_request(self, so_far: str | None, part: str) -> list[dict[str, str]]:
        """One summarising request: the summary so far (cut to `summary_tokens` if longer) and
        one part of the transcript."""
        previous = self.fit_summary(so_far) if so_far else None
        return _summary_messages(previous, part, self.summary_words)

    def fit_summary(self, text: str) -> str:
        """`text` cut between words to at most `summary_tokens` by this plan's estimate."""
        text = text.strip()
        allowance = self.estimator._raw_limit(self.summary_tokens)
        return _cut(text, allowance, self.estimator) if text else text

    def summary_request(self) -> list[dict[str, str]]:
        """The first summarising request: the only one when `summary_parts` has one part."""
        previous = self.previous_summary.text if self.previous_summary else None
        return self.fold_request(previous, self.summary_parts()[0])


def plan_request(
    conversation: Conversation,
    *,
    num_ctx: int,
    reserve: int,
    estimator_for_model: EstimatorForModel,
    strategy: MemoryStrategy | None = None,
    draft: str = "",
    draft_attachments: Sequence[Attachment] = (),
    send_images: bool = True,
    reference: str = "",
) -> ContextPlan:
    """Plan the next request of `conversation` under its memory strategy (or `strategy`).

    `draft` is a user message not yet added (for the meter while typing), with the files
    attached to it so far. With `send_images` False (a model without vision) images are
    neither counted nor planned. `reference` is a
    block of retrieved text, sent as a system message just before the latest user message (so
    the history before it stays a stable prefix) and counted like the system prompt. Turns are kept
    whole and the latest one is always sent; when even the system prompt, the summary and the
    latest turn exceed the budget the plan says so with fits=False instead of cutting.
    """
    strategy = strategy or conversation.memory
    estimator = estimator_for_model(conversation.model)
    budget = max(0, num_ctx - reserve)
    limit = estimator._raw_limit(budget)
    words = summary_words(budget)

    history = conversation.history_messages()
    roles = [message.role for message in history]
    sendable = [_sendable(message) for message in history]
    pictures = [images_of(m.attachments) if send_images else [] for m in history]
    if draft or draft_attachments:
        roles.append(Role.USER)
        sendable.append({"role": "user", "content": content_with_files(draft, draft_attachments)})
        pictures.append(images_of(draft_attachments) if send_images else [])
    picture_costs = [sum(image_tokens(conversation.model, p) for p in ps) for ps in pictures]
    costs = [
        estimator._raw_message(_costed_text(message)) + picture_cost
        for message, picture_cost in zip(sendable, picture_costs, strict=True)
    ]

    head: list[dict[str, Any]] = []
    if conversation.system_prompt.strip():
        head.append({"role": "system", "content": conversation.system_prompt})
    head_raw = estimator._raw_request(head)
    if reference:
        head_raw += estimator._raw_message(reference)

    previous, covered = _matching_summary(conversation.summary, history)
    summary_raw = estimator._raw_message(SUMMARY_PREFIX + previous.text) if previous else 0

    def plan(
        start: int, summary: Summary | None = None, needs: list[Message] | None = None
    ) -> ContextPlan:
        sent = list(head)
        if summary is not None:
            sent.append({"role": "system", "content": SUMMARY_PREFIX + summary.text})
        sent.extend(sendable[start:])
        offset = len(sent) - len(roles[start:])
        images = {offset + i: ps for i, ps in enumerate(pictures[start:]) if ps}
        if reference:
            latest_is_user = len(sent) > len(head) and sent[-1]["role"] == "user"
            at = len(sent) - 1 if latest_is_user else len(sent)
            sent.insert(at, _system(reference))
            images = {i + (i >= at): ps for i, ps in images.items()}
        # The same sum request_tokens(sent) would make, from the costs already known.
        raw = head_raw + (summary_raw if summary else 0) + sum(costs[start:])
        estimated = estimator._scale(raw)
        return ContextPlan(
            messages=sent,
            estimated_tokens=estimated,
            budget=budget,
            num_ctx=num_ctx,
            strategy=strategy,
            fits=estimated <= budget,
            omitted_count=min(start, len(history)),
            first_message_id=history[start].id if start < len(history) else None,
            summary_used=summary is not None,
            needs_summary=needs or None,
            previous_summary=previous,
            summary_words=words,
            images=images,
            image_tokens=sum(picture_costs[start:]),
            summary_tokens=estimator._scale(_raw_summary_tokens(words)),
            fold_cap=fold_cap,
            estimator=estimator,
        )

    # What one summarising request may carry besides its instructions and the summary so far,
    # leaving room in num_ctx for the summary it writes (and within the budget, as any request).
    allowance = _raw_summary_allowance(words)
    fold_limit = min(limit, estimator._raw_limit(num_ctx - estimator._scale(allowance)))
    fixed = estimator._raw_request(_summary_messages("", "", words))
    fold_cap = fold_limit - fixed - _raw_summary_tokens(words) - FOLD_SLACK

    if strategy is MemoryStrategy.FULL or head_raw + sum(costs) <= limit:
        return plan(0)
    if strategy is MemoryStrategy.WINDOW or fold_cap < MIN_FOLD:
        return plan(_window_start(roles, costs, 0, limit - head_raw))

    if previous and head_raw + summary_raw + sum(costs[covered:]) <= limit:
        return plan(covered, previous)

    # The history no longer fits: fold older turns into the summary, leaving the recent turns
    # room to grow. Meanwhile the plan is what could be sent as things stand.
    latest = _window_start(roles, costs, covered, 0)
    if head_raw + sum(costs[latest:]) > limit:  # no summary could make room for the latest turn
        return plan(latest)
    use_previous = previous is not None and head_raw + summary_raw + sum(costs[latest:]) <= limit
    room = limit - head_raw - (summary_raw if use_previous else 0)
    start = _window_start(roles, costs, covered if use_previous else 0, room)

    # Everything older than the turns kept is folded in this round, in as many bounded
    # requests as it takes (`summary_parts`), so one round per send is enough.
    keep = _window_start(roles, costs, covered, int((limit - head_raw - allowance) * KEEP_FRACTION))
    return plan(
        start, previous if use_previous else None, history[covered : min(keep, len(history))]
    )


def _raw_summary_tokens(words: int) -> int:
    """Uncalibrated tokens of a summary of `words` words (about 1.5 tokens a word)."""
    return math.ceil(words * 1.5)


def _system(content: str) -> dict[str, str]:
    return {"role": "system", "content": content}


def _raw_summary_allowance(words: int) -> int:
    """Uncalibrated tokens of the message carrying a summary of `words` words."""
    return MESSAGE_OVERHEAD + estimate_text_tokens(SUMMARY_PREFIX) + _raw_summary_tokens(words)


def _cut(text: str, raw_limit: int, estimator: TokenEstimator) -> str:
    """The longest start of `text` whose raw estimate, with " …" marking the cut, is within
    `raw_limit`: cut between words, or anywhere in a first word already over the limit (text
    without spaces, as Japanese and Chinese are written, where a character may count for more
    than a token: the estimate decides, never the number of characters)."""
    if estimate_text_tokens(text) <= raw_limit:
        return text
    reach = text[: 8 * max(raw_limit, 0)]  # a character is at least 1/8 token: none longer fits
    ends: Sequence[int] = [index for index, char in enumerate(reach) if char == " "]
    if not ends or estimate_text_tokens(text[: ends[0]] + " …") > raw_limit:
        ends = range(len(reach) + 1)
    low, high = 0, len(ends) - 1
    while low < high:  # the longest start that fits, by bisection (the estimate only grows)
        middle = (low + high + 1) // 2
        if estimate_text_tokens(text[: ends[middle]] + " …") <= raw_limit:
            low = middle
        else:
            high = middle - 1
    return text[: ends[low]] + " …"


def _pieces(text: str, cap: int, estimator: TokenEstimator) -> list[str]:
    """`text` in consecutive pieces of at most `cap` raw tokens each, cut between words
    where it has spaces."""
    pieces: list[str] = []
    while estimator._raw_message(text) > cap:
        head = _cut(text, cap - MESSAGE_OVERHEAD - 1, estimator).removesuffix(" …")
        if not head:
            head = text[: max(cap, 1)]
        pieces.append(head)
        text = text[len(head) :].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _matching_summary(
    summary: Summary | None, history: list[Message]
) -> tuple[Summary | None, int]:
    """The summary if the message it ends at is still in the history, and how many it covers."""
    if summary is not None:
        for index, message in enumerate(history):
            if message.id == summary.covers_until:
                return summary, index + 1
    return None, 0


def _window_start(roles: list[Role], costs: list[int], low: int, room: int) -> int:
    """Where the most recent whole turns within `room` begin (never before `low`).

    A turn is a user message and the replies after it. The latest turn is always included,
    even when it alone exceeds `room`.
    """
    start = end = len(costs)
    used = 0
    while end > low:
        begin = end - 1
        while begin > low and roles[begin] is not Role.USER:
            begin -= 1
        turn = sum(costs[begin:end])
        if start < len(costs) and used + turn > room:
            break
        used += turn
        start = end = begin
    return start


def _sendable(message: Message) -> dict[str, Any]:
    """`message.to_request()`, without its cost for the plain messages of a long history."""
    if message.tool_calls or message.tool_name:
        return message.to_request()
    return {"role": _ROLE_NAMES[message.role], "content": message.request_content()}


def _costed_text(message: Mapping[str, Any]) -> str:
    """What of a sent message counts against the context: its text, and a reply's calls."""
    calls = message.get("tool_calls")
    content: str = message["content"]
    return content + json.dumps(calls, ensure_ascii=False) if calls else content


SUMMARY_INSTRUCTIONS = (
    "You keep a running summary of a conversation between a user and an assistant. Update the "
    "summary with the new part of the conversation. Keep facts, names, numbers, decisions, code "
    "identifiers, the user's preferences and open questions; leave out pleasantries. Write in "
    "the language of the conversation, as short paragraphs or bullet points, at most {words} "
    "words. Reply with the summary only."
)


def summary_request(
    previous: Summary | None, new_messages: list[Message], *, max_words: int = 250
) -> list[dict[str, str]]:
    """Messages for a non-streamed /api/chat call that updates the running summary.

    Only the previous summary and the newly covered messages are sent, so the cost of each
    update does not grow with the length of the conversation.
    """
    transcript = "\n\n".join(_transcript_line(message) for message in new_messages)
    return _summary_messages(previous.text if previous else None, transcript, max_words)


def _summary_messages(so_far: str | None, transcript: str, words: int) -> list[dict[str, str]]:
    so_far = so_far or "(none yet)"
    return [
        {"role": "system", "content": SUMMARY_INSTRUCTIONS.format(words=words)},
        {
            "role": "user",
            "content": f"Summary so far:\n{so_far}\n\nNew part of the conversation:\n\n"
            f"{transcript}\n\nReply with the updated summary.",
        },
    ]


def _transcript_line(message: Message) -> str:
    if message.role is Role.TOOL:
        return f"Result of the tool {message.tool_name}: {message.content}"
    author = "User" if message.role is Role.USER else "Assistant"
    calls = "".join(
        f"\n[called the tool {call.name} with {json.dumps(call.arguments, ensure_ascii=False)}]"
        for call in message.tool_calls
    )
    return f"{author}: {message.request_content()}{calls}"


def apply_summary(
    conversation: Conversation, text: str, covered: list[Message], model: str
) -> Summary:
    """Store `text` as the conversation's summary of everything up to the last of `covered`.

    Raises ValueError for an empty summary or messages no longer in the history (the app then
    falls back to WINDOW). The messages themselves are never changed.
    """
    text = text.strip()
    if not text or not covered:
        raise ValueError("the summary is empty")
    history = conversation.history_messages()
    until = covered[-1].id
    position = next((i for i, message in enumerate(history) if message.id == until), None)
    if position is None:
        raise ValueError("the summarised messages are no longer in the conversation")
    summary = Summary(text=text, covers_until=until, covered_count=position + 1, model=model)
    conversation.summary = summary
    conversation.touch()
    return summary
