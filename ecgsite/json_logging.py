"""JSON log lines for production (one object per line, ready for a log shipper).

Used by Django's LOGGING (``LOG_FORMAT=json``, the production default) and by gunicorn's
config, whose access-log records carry the request fields as a dict in ``record.args``.
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter

RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# gunicorn access-log atoms -> field names (see gunicorn's "access_log_format" docs)
ACCESS_FIELDS = {
    "h": "remote_addr",
    "m": "method",
    "U": "path",
    "s": "status",
    "B": "bytes",
    "M": "duration_ms",
    "a": "user_agent",
}


def json_formatter() -> JsonFormatter:
    return JsonFormatter(FORMAT, rename_fields=RENAMED)


class AccessJsonFormatter(JsonFormatter):
    """gunicorn access lines as JSON fields instead of one Apache-style string."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", RENAMED)
        super().__init__(FORMAT, *args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        atoms = record.args if isinstance(record.args, dict) else {}
        for atom, field in ACCESS_FIELDS.items():
            if atom in atoms:
                log_data[field] = atoms[atom]
        log_data["message"] = f"{atoms.get('m', '')} {atoms.get('U', '')} {atoms.get('s', '')}"
