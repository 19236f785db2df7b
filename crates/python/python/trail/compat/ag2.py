"""A store for AG2's hub ``AuditLog`` whose audit log is a trail log.

``TrailKnowledgeStore(inner, log)`` is an AG2 ``KnowledgeStore``: the hub's audit log
(``/audit/audit.jsonl``) goes to trail, each appended record mapped as ``trail import --from
ag2`` maps AG2's file (id ``ag2:<digest>``, the record under ``body.ag2``), stored, signed and
scanned before ``append`` returns; every other path goes to ``inner`` (``DiskKnowledgeStore``,
``SqliteKnowledgeStore``, ...). ``read`` of the audit path gives back the records as AG2 wrote
them, so ``AuditLog.read_all`` works unchanged. Give it to the hub as its store, or to
``AuditLog`` directly.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from trail import EventError, Log

AUDIT_PATH = "/audit/audit.jsonl"


def _audit_path() -> str:
    try:
        from ag2.network.hub.layout import audit_path
        return audit_path()
    except ImportError:
        return AUDIT_PATH


class TrailKnowledgeStore:
    """AG2's ``KnowledgeStore`` with the audit log in trail."""

    def __init__(self, inner: Any, log: Log) -> None:
        self._inner = inner
        self._log = log
        self._audit = _audit_path()
        self._lines = sum(1 for _ in log.scan(source="ag2"))
        self._bytes = 0

    @staticmethod
    def _norm(path: str) -> str:
        """The path as the store means it (``audit//audit.jsonl`` is the audit log too)."""
        return posixpath.normpath("/" + path.lstrip("/"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def append(self, path: str, content: str) -> int:
        if self._norm(path) != self._audit:
            return await self._inner.append(path, content)
        offset = self._bytes
        for line in content.splitlines():
            if not line.strip():
                continue
            self._lines += 1
            self._log._native.record_ag2_json(line, self._audit, self._lines)
        self._bytes += len(content.encode("utf-8"))
        return offset

    async def read(self, path: str):
        if self._norm(path) != self._audit:
            return await self._inner.read(path)
        lines = [json.dumps(r["body"]["ag2"], default=str, sort_keys=True)
                 for r in self._log.scan(source="ag2") if r.get("body")]
        return "".join(line + "\n" for line in lines) if lines else None

    async def exists(self, path: str) -> bool:
        if self._norm(path) != self._audit:
            return await self._inner.exists(path)
        return self._lines > 0

    async def write(self, path: str, content: str) -> None:
        if self._norm(path) == self._audit:
            raise EventError(f"{path} is a trail log: records are appended, never rewritten")
        await self._inner.write(path, content)

    async def delete(self, path: str) -> None:
        if self._norm(path) == self._audit:
            raise EventError(f"{path} is a trail log: records are never deleted (trail prune cuts it behind a signed anchor)")
        await self._inner.delete(path)
