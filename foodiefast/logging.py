"""JSON log lines on stdout, each carrying the request id of the request it belongs to."""

from __future__ import annotations

import contextvars
import logging
import re

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


class JsonFormatter(_JsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("timestamp", True)
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def process_log_record(self, log_record: dict) -> dict:
        for key in list(log_record):
            if _SECRET_KEYS.search(key):
                log_record[key] = "[redacted]"
        message = log_record.get("message")
        if isinstance(message, str):
            log_record["message"] = _CARD_NUMBER.sub("[redacted]", message)
        return log_record
