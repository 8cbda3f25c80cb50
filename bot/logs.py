"""Logging set-up: readable text or JSON lines, and never the bot token."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from bot.urls import display_url

_TOKEN_RE = re.compile(r"\d{5,12}:[A-Za-z0-9_-]{30,}")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Replaces the bot token (given, or anything shaped like one) with a placeholder, and shows
    every URL without its credentials."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<token>")
    return display_url(_TOKEN_RE.sub("<token>", text))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message so that secrets never reach a handler."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `fields` passed as extra."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time of each record (it may be replaced)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        del value


def setup_logging(fmt: str = "text", level: int = logging.INFO, secrets: tuple[str, ...] = ()) -> None:
    """Configures the root logger on stderr; quiets libraries whose request logs carry the token."""
    handler = StderrHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.ExtBot", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # It logs a traceback for an answer that is not JSON, then raises: the caller says it in one line.
    logging.getLogger("telegram.request").setLevel(logging.CRITICAL)
