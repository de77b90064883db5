"""The case server's log: one JSON object per line on stderr (``caseterm serve``).

The access log (logger ``caseterm.server.access``: method, path, status, ms, agent; never
a token or the Authorization header) and caseterm's own messages go through
:class:`JsonLines`. ``LOG_CONFIG`` is handed to uvicorn, which applies it in every
server process, so ``--workers N`` log like one.
"""

from __future__ import annotations

import json
import logging

FIELDS = ("method", "path", "status", "ms", "agent")  # the access log's own fields


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
               "message": record.getMessage()}
        for key in FIELDS:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out)


LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonLines}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "caseterm": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},  # start, stop, workers
    },
}

__all__ = ["FIELDS", "JsonLines", "LOG_CONFIG"]
