"""/api/chat's request body, decoded and checked as Ollama's handler does."""

from __future__ import annotations

import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from tests.fake_ollama.wire import JSON_BARE, JSON_UTF8, ApiError, decode_body, go_type_of, typed

_INT_OPTIONS = frozenset(
    {
        "num_keep",
        "seed",
        "num_predict",
        "top_k",
        "repeat_last_n",
        "num_ctx",
        "num_batch",
        "num_gpu",
        "num_thread",
        "draft_num_predict",
        "main_gpu",
    }
)
_FLOAT_OPTIONS = frozenset(
    {
        "top_p",
        "min_p",
        "typical_p",
        "temperature",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
    }
)
_THINK_LEVELS = ("high", "medium", "low", "max")
_GO_DURATION = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


@dataclass
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    options: dict[str, Any]
    think: bool | str | None
    keep_alive: float | None
    tools: list[Any]
    format: Any

    @property
    def thinking_requested(self) -> bool:
        return self.think is True or isinstance(self.think, str)

    @property
    def images(self) -> list[bytes]:
        """Every image of every message, decoded (parse_chat checked the base64)."""
        return [
            binascii.a2b_base64(image)
            for message in self.messages
            for image in message.get("images") or []
        ]


# --------------------------------------------------------------------------- connection


def _parse_keep_alive(value: object) -> float | None:
    """Seconds, negative meaning forever; None when absent (api.Duration's rules)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        go_types = {bool: "bool", list: "[]interface {}", dict: "map[string]interface {}"}
        raise ApiError(400, f"Unsupported type: '{go_types.get(type(value), 'unknown')}'")
    if not isinstance(value, str):
        return float(value)
    quoted = json.dumps(value, ensure_ascii=False)
    if value in ("0", "+0", "-0"):
        return 0.0
    if not _GO_DURATION.fullmatch(value):
        try:
            float(value)
        except ValueError:
            raise ApiError(400, f"time: invalid duration {quoted}") from None
        raise ApiError(400, f"time: missing unit in duration {quoted}")
    seconds = sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(value))
    return -seconds if value.startswith("-") else seconds


def _parse_think(value: object) -> bool | str | None:
    if value is None or isinstance(value, bool):
        return value
    levels = ", ".join(f'"{level}"' for level in _THINK_LEVELS) + ", true, or false"
    if isinstance(value, str):
        if value in _THINK_LEVELS:
            return value
        raise ApiError(400, f'invalid think value: "{value}" (must be {levels})')
    raise ApiError(400, f"think must be a boolean or string ({levels})")


def parse_chat(body: bytes) -> ChatRequest:
    data = decode_body(body, "ChatRequest")
    messages = typed(data, "messages", list, "[]api.Message") or []
    for message in messages:
        if not isinstance(message, dict):
            raise ApiError(
                400,
                f"json: cannot unmarshal {go_type_of(message)} into Go struct field "
                "ChatRequest.messages of type api.Message",
            )
        for key in ("role", "content", "tool_name", "tool_call_id"):
            if message.get(key) is not None and not isinstance(message[key], str):
                raise _field_error(message[key], f"messages.{key}", "string")
        _check_tool_calls(message.get("tool_calls"))
        message["role"] = str(message.get("role") or "").lower()
        _check_images(message.get("images"))
    top_logprobs = typed(data, "top_logprobs", int, "int")
    if top_logprobs is not None and not 0 <= top_logprobs <= 20:
        raise ApiError(400, "top_logprobs must be between 0 and 20")
    return ChatRequest(
        model=typed(data, "model", str, "string") or "",
        messages=messages,
        stream=typed(data, "stream", bool, "bool") is not False,
        options=typed(data, "options", dict, "map[string]interface {}") or {},
        think=_parse_think(data.get("think")),
        keep_alive=_parse_keep_alive(data.get("keep_alive")),
        tools=typed(data, "tools", list, "[]api.Tool") or [],
        format=data.get("format"),
    )


def _field_error(value: object, field: str, go_type: str) -> ApiError:
    return ApiError(
        400,
        f"json: cannot unmarshal {go_type_of(value)} into Go struct field "
        f"ChatRequest.{field} of type {go_type}",
    )


def _check_tool_calls(calls: object) -> None:
    """A history message's `tool_calls`, decoded into api.ToolCall as Ollama does: the
    arguments must be an object (api.ToolCallFunctionArguments is a map)."""
    if calls is None:
        return
    if not isinstance(calls, list):
        raise _field_error(calls, "messages.tool_calls", "[]api.ToolCall")
    for call in calls:
        if not isinstance(call, dict):
            raise _field_error(call, "messages.tool_calls", "api.ToolCall")
        function = call.get("function") or {}
        if not isinstance(function, dict):
            raise _field_error(function, "messages.tool_calls.function", "api.ToolCallFunction")
        if function.get("name") is not None and not isinstance(function["name"], str):
            raise _field_error(function["name"], "messages.tool_calls.function.name", "string")
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, dict):
            raise _field_error(
                arguments,
                "messages.tool_calls.function.arguments",
                "api.ToolCallFunctionArguments",
            )


_BASE64 = re.compile(rb"[A-Za-z0-9+/]")
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def _check_images(images: object) -> None:
    """`images` as Go decodes api.ImageData ([]byte): an array of standard, padded base64
    strings, or the decoder's 400."""
    if images is None:
        return
    if not isinstance(images, list):
        raise ApiError(
            400,
            f"json: cannot unmarshal {go_type_of(images)} into Go struct field "
            "ChatRequest.messages.images of type []api.ImageData",
        )
    for image in images:
        if not isinstance(image, str):
            raise ApiError(
                400,
                f"json: cannot unmarshal {go_type_of(image)} into Go struct field "
                "ChatRequest.messages.images of type api.ImageData",
            )
        position = _base64_error_at(image.encode())
        if position is not None:
            raise ApiError(400, f"illegal base64 data at input byte {position}")


def _base64_error_at(data: bytes) -> int | None:
    """Where Go's base64.StdEncoding fails on `data` (newlines skipped), or None if valid; a
    length error is placed at the last incomplete quantum."""
    data = data.replace(b"\r", b"").replace(b"\n", b"")
    body = data.rstrip(b"=")
    for index in range(len(body)):
        if not _BASE64.fullmatch(body[index : index + 1]):
            return index
    if len(data) % 4 or len(data) - len(body) > 2:
        return len(data) - (len(data) % 4 or 4)
    return None


def check_images(chat: ChatRequest, capabilities: tuple[str, ...]) -> None:
    """What the runner does with images: a model without a vision projector cannot take them,
    and bytes that are no image fail to decode. Both are 500s before the first line."""
    images = chat.images
    if not images:
        return
    prefix = "Failed to create new sequence: failed to process inputs: "
    content_type = JSON_BARE if chat.stream else JSON_UTF8  # as early stream errors are
    if "vision" not in capabilities:
        raise ApiError(
            500, prefix + "this model is missing data required for image input", content_type
        )
    for image in images:
        webp = image.startswith(b"RIFF") and image[8:12] == b"WEBP"
        if not (webp or image.startswith(IMAGE_SIGNATURES)):
            raise ApiError(500, prefix + "image: unknown format", content_type)


def check_options(options: dict[str, Any]) -> None:
    """Option types, checked when the runner is scheduled: a wrong type is a 500."""
    for key, value in options.items():
        if value is None:
            continue
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if key in _INT_OPTIONS and not is_number:
            raise ApiError(500, f'option "{key}" must be of type integer')
        if key in _FLOAT_OPTIONS and not is_number:
            raise ApiError(500, f'option "{key}" must be of type float32')
        if key == "use_mmap" and not isinstance(value, bool):
            raise ApiError(500, f'option "{key}" must be of type boolean')
        if key == "stop":
            if not isinstance(value, list):
                raise ApiError(500, 'option "stop" must be of type array')
            if not all(isinstance(item, str) for item in value):
                raise ApiError(500, 'option "stop" must be of an array of strings')


# --------------------------------------------------------------------------- the server
