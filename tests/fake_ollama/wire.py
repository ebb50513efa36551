"""HTTP/1.1 as Ollama's Go server writes it: content types, JSON encoding, request reading,
chunked NDJSON lines, and Go's decode errors."""

from __future__ import annotations

import asyncio
import json
import re
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

JSON_UTF8 = "application/json; charset=utf-8"
JSON_BARE = "application/json"
NDJSON = "application/x-ndjson"
TEXT_UTF8 = "text/plain; charset=utf-8"
TEXT_BARE = "text/plain"
_HTML_UNSAFE = re.compile("[<>&\u2028\u2029]")


def go_json(value: object, *, html_safe: bool = True) -> bytes:
    """Encode like Go's json.Marshal: compact, HTML-safe, other non-ASCII as raw UTF-8."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if html_safe:
        text = _HTML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text.encode("utf-8", errors="replace")


def go_time(ns: int | None = None, *, utc: bool = True) -> str:
    """RFC 3339 with nanoseconds, trailing zeros trimmed; `Z` for UTC, else the local offset."""
    seconds, nanos = divmod(time.time_ns() if ns is None else ns, 1_000_000_000)
    moment = time.gmtime(seconds) if utc else time.localtime(seconds)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", moment)
    if fraction := f"{nanos:09d}".rstrip("0"):
        text += "." + fraction
    offset = moment.tm_gmtoff or 0
    if offset == 0:
        return text + "Z"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{text}{'+' if offset > 0 else '-'}{hours:02d}:{minutes:02d}"


def go_type_of(value: object) -> str:
    """JSON type as Go's decoder names it in UnmarshalTypeError."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


async def stop_watching(gone: asyncio.Task[None]) -> None:
    """Cancel a watch_for_close task and wait, so the next request can read the socket."""
    gone.cancel()
    await asyncio.wait({gone})


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


# --------------------------------------------------------------------------- canned text


class ApiError(Exception):
    def __init__(self, status: int, message: str, content_type: str = JSON_UTF8) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.content_type = content_type


class ClientGone(Exception):
    """The client closed the connection while a reply was in progress."""


class BadRequest(Exception):
    """The bytes received are not an HTTP/1.1 request."""


@dataclass
class Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def wants_close(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        return connection == "close" or (self.version == "HTTP/1.0" and connection != "keep-alive")


class Connection:
    """One client socket: buffered request reading, and noticing when the client leaves."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()

    async def _fill(self) -> bool:
        data = await self.reader.read(65536)
        self.buffer += data
        return bool(data)

    async def _read_until(self, marker: bytes, limit: int = 65536) -> bytes | None:
        while (end := self.buffer.find(marker)) < 0:
            if len(self.buffer) > limit:
                raise BadRequest
            if not await self._fill():
                return None
        data = bytes(self.buffer[:end])
        del self.buffer[: end + len(marker)]
        return data

    async def _read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not await self._fill():
                raise BadRequest
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def read_request(self) -> Request | None:
        """The next request, or None when the client closed the connection between requests."""
        while self.buffer[:2] == b"\r\n":
            del self.buffer[:2]
        head = await self._read_until(b"\r\n\r\n")
        if head is None:
            if self.buffer:
                raise BadRequest
            return None
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = request_line.split(" ")
        except ValueError:
            raise BadRequest from None
        headers: dict[str, str] = {}
        for line in header_lines:
            name, colon, value = line.partition(":")
            if not colon:
                raise BadRequest
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked_body()
        else:
            try:
                body = await self._read_exact(int(headers.get("content-length", "0")))
            except ValueError:
                raise BadRequest from None
        return Request(method, target.split("?", 1)[0], version, headers, body)

    async def _read_chunked_body(self) -> bytes:
        body = bytearray()
        while True:
            size_line = await self._read_until(b"\r\n")
            if size_line is None:
                raise BadRequest
            try:
                size = int(size_line.split(b";", 1)[0], 16)
            except ValueError:
                raise BadRequest from None
            if size == 0:
                while await self._read_until(b"\r\n"):  # trailers, then the blank line
                    pass
                return bytes(body)
            body += await self._read_exact(size)
            await self._read_exact(2)

    async def watch_for_close(self) -> None:
        """Return once the client has closed; bytes read meanwhile are kept for the next request."""
        try:
            while await self._fill():
                pass
        except OSError:
            pass

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()


class LineWriter:
    """Writes NDJSON lines as HTTP chunks: one chunk per line, or (split) all at the end in
    awkward slices of 200+ bytes, so most hold several lines and end inside a UTF-8 sequence."""

    SPAN = 200

    def __init__(self, conn: Connection, *, split: bool, gzip: bool = False) -> None:
        self.conn = conn
        self.split = split
        self.pending = bytearray()
        self.compressor = zlib.compressobj(wbits=31) if gzip else None  # 31: gzip framing

    async def line(self, data: bytes) -> None:
        if self.split:
            self.pending += data + b"\n"
        elif self.compressor is not None:
            packed = self.compressor.compress(data + b"\n")
            await self.conn.send(chunk(packed + self.compressor.flush(zlib.Z_SYNC_FLUSH)))
        else:
            await self.conn.send(chunk(data + b"\n"))

    async def flush(self, pause: Callable[[], Awaitable[None]]) -> None:
        """Send what split mode has gathered, one slice per chunk, pausing between them."""
        while self.pending:
            end = min(self.SPAN, len(self.pending))
            limit = min(2 * self.SPAN, len(self.pending))
            while end < limit and self.pending[end - 1] < 0xC0:  # cut after a UTF-8 lead byte
                end += 1
            await self.conn.send(chunk(bytes(self.pending[:end])))
            del self.pending[:end]
            await pause()

    async def end(self, pause: Callable[[], Awaitable[None]]) -> None:
        await self.flush(pause)
        if self.compressor is not None:
            await self.conn.send(chunk(self.compressor.flush()))
        await self.conn.send(b"0\r\n\r\n")


# --------------------------------------------------------------------------- request parsing


def decode_body(body: bytes, struct: str) -> dict[str, Any]:
    """Decode a JSON request body as gin's ShouldBindJSON would, with Go's error texts."""
    if not body.strip():
        raise ApiError(400, "missing request body")
    text = body.decode("utf-8", errors="replace").lstrip()
    try:
        value, _ = json.JSONDecoder().raw_decode(text)  # bytes after the first value are ignored
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise ApiError(400, "unexpected EOF") from None
        raise ApiError(
            400, f"invalid character '{text[exc.pos]}' looking for beginning of value"
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(
            400, f"json: cannot unmarshal {go_type_of(value)} into Go value of type api.{struct}"
        )
    return {key.lower(): item for key, item in value.items()}  # Go matches names ignoring case


def typed(
    data: dict[str, Any], key: str, kind: type, go_type: str, struct: str = "ChatRequest"
) -> Any:
    """data[key] if absent, null or of the right JSON type; else Go's decode error."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ApiError(
            400,
            f"json: cannot unmarshal {go_type_of(value)} into Go struct field "
            f"{struct}.{key} of type {go_type}",
        )
    return value
