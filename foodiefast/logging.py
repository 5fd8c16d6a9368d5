"""JSON log lines on stdout, each carrying the request id of the request it belongs to."""

from __future__ import annotations

import contextvars
import json
import logging
import re
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
