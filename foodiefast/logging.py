"""JSON log lines on stdout, each carrying the request id of the request it belongs to."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
import threading
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonEncoder
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Values that must never reach a log line, whatever a caller passes in `extra`.
_SECRET_KEYS = re.compile(r"password|token|secret|authorization|card|cvc|refresh|access", re.I)
_CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){13,19}\b")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


_encode_other = JsonEncoder().default


class JsonFormatter(_JsonFormatter):
    """python-json-logger's lines, secrets redacted. The usual record (a text message,
    no exception or stack) takes a shorter path to the same line: the access log
    writes one per request, and the library's general path costs several times more."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("timestamp", True)
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)
        self._secret: dict[str, bool] = {}
        # Whether :func:`json_line` writes this formatter's line of a usual record.
        self.plain = self.prefix == "" and self._required_fields == ["levelname", "name", "message"]

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info or isinstance(record.msg, dict):
            return super().format(record)
        record.message = record.getMessage()
        fields = record.__dict__
        data = {name: fields.get(name) for name in self._required_fields}
        skip = self._skip_fields
        for key, value in fields.items():
            if key not in skip and not key.startswith("_"):
                data[key] = value
        data["timestamp"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat()
        return self.prefix + json.dumps(self.process_log_record(data), default=_encode_other)

    def _is_secret(self, key: str) -> bool:
        found = self._secret.get(key)
        if found is None:
            found = bool(_SECRET_KEYS.search(key))
            if len(self._secret) < 1024:
                self._secret[key] = found
        return found

    def process_log_record(self, log_record: dict) -> dict:
        for key in list(log_record):
            if self._is_secret(key):
                log_record[key] = "[redacted]"
        message = log_record.get("message")
        if isinstance(message, str):
            log_record["message"] = _CARD_NUMBER.sub("[redacted]", message)
        return log_record


# ---------------------------------------------------------------------------
# Lines written without a LogRecord: the access log's, one per request
# ---------------------------------------------------------------------------


def json_line(*, name: str, message: str, fields: dict, created: float) -> str:
    """The line :class:`JsonFormatter` writes for an INFO record of logger ``name``
    with this text message and these ``extra`` fields (none of them secret; the
    message holds no card number), in the current request's context, made at
    ``created`` (``time.time()``)."""
    data = {"levelname": "INFO", "name": name, "message": message, **fields}
    data["request_id"] = request_id_var.get()
    data["timestamp"] = datetime.fromtimestamp(created, tz=UTC).isoformat()
    return json.dumps(data, default=_encode_other)


def direct_handlers(logger: logging.Logger) -> list[logging.StreamHandler] | None:
    """The handlers an INFO record of ``logger`` would reach, when each writes the line
    of :func:`json_line` to its stream: a plain ``StreamHandler`` with a plain
    :class:`JsonFormatter` and :class:`RequestIdFilter` alone, no logger on the way
    filtering. None otherwise (any other handler or filter, e.g. a test capturing
    records, or none at all): such records take the logging module's whole path."""
    found = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            if handler.level > logging.INFO:
                continue
            formatter, filters = handler.formatter, handler.filters
            if (
                type(handler) is not logging.StreamHandler
                or type(formatter) is not JsonFormatter
                or not formatter.plain
                or len(filters) != 1
                or type(filters[0]) is not RequestIdFilter
            ):
                return None
            found.append(handler)
        if not current.propagate:
            break
        current = current.parent
    return found or None


class _Pending(threading.local):
    """The lines written on this thread's event loop during the loop's current turn."""

    def __init__(self) -> None:
        self.lines: list[tuple[logging.StreamHandler, str]] = []


_pending = _Pending()


def write_line(handlers: list[logging.StreamHandler], line: str) -> None:
    """Write ``line`` (see :func:`json_line`) to these handlers' streams, as their
    ``emit`` would (under the handler's lock, then a flush). On an event loop, the
    lines of one turn of the loop leave together at its end: one write and one flush
    for all the requests answered in that turn."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        for handler in handlers:
            _write(handler, line + "\n")
        return
    pending = _pending.lines
    if not pending:
        loop.call_soon(_flush_pending)
    for handler in handlers:
        pending.append((handler, line))


def _flush_pending() -> None:
    pending, _pending.lines = _pending.lines, []
    by_handler: dict[logging.StreamHandler, list[str]] = {}
    for handler, line in pending:
        by_handler.setdefault(handler, []).append(line)
    for handler, lines in by_handler.items():
        _write(handler, "\n".join(lines) + "\n")


def _write(handler: logging.StreamHandler, text: str) -> None:
    handler.acquire()
    try:
        handler.stream.write(text)
        handler.flush()
    except Exception:  # as logging does: a failing stream never fails the request
        handler.handleError(logging.makeLogRecord({"msg": text}))
    finally:
        handler.release()
