"""Harness 0.6's ``AuditLogger``, recording into trail.

Same constructor (``AuditLogger(session_id, *, enabled=True, log_tool_args=True,
audit_dir=None)``), same ``log_*`` methods with the same arguments, returning the same
``event_id`` (or ``None`` when disabled), the same ``event_count``, context manager and
``close``. Each event is built exactly as Harness builds it (its ``event_id``, ``timestamp``,
``data``, and the ``prev_hash``/``hash`` chain), then recorded into a trail log, mapped as
``trail import --from harness`` maps Harness's files: id ``harness:<event_id>``, the whole
Harness event under ``body.harness``. ``log_*`` returns once trail stored the event.

Which log: ``trail_log=`` (a ``trail.Log``), else the one given to ``install()``, else the data
directory ``$TRAIL_DATA`` (default ``trail-data``) opened on first use.

``install(log)`` replaces ``AuditLogger`` in Harness's modules, so Harness's engine records into
trail unchanged; ``uninstall()`` puts Harness's class back.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from trail import Log

GENESIS = "0" * 64

_default: Optional[Log] = None
_default_lock = threading.Lock()
_originals: List[Tuple[Any, str, Any]] = []


def _log_for(trail_log: Optional[Log]) -> Log:
    global _default
    if trail_log is not None:
        return trail_log
    with _default_lock:
        if _default is None:
            _default = Log.open(os.environ.get("TRAIL_DATA", "trail-data"))
        return _default


class AuditLogger:
    """Harness's ``AuditLogger``, recording into a trail log."""

    def __init__(self, session_id: str, *, enabled: bool = True, log_tool_args: bool = True,
                 audit_dir: Optional[Path] = None, trail_log: Optional[Log] = None) -> None:
        self._enabled = enabled
        self._session_id = session_id
        self._log_tool_args = log_tool_args
        self._prev_hash = GENESIS
        self._event_count = 0
        self._lock = threading.Lock()
        # Harness's file is not written; audit_dir only names the source in trail's events.
        self._audit_dir = (audit_dir or (Path.home() / ".harness" / "audit")) if enabled else None
        self._log_path = (self._audit_dir / f"audit-{session_id}.jsonl") if enabled else None
        self._log = _log_for(trail_log) if enabled else None
        self._closed = not enabled

    def __enter__(self) -> "AuditLogger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops recording (the trail log stays open for others; ``trail.Log.close`` closes it)."""
        self._closed = True

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def log_path(self) -> Optional[Path]:
        return self._log_path

    @property
    def event_count(self) -> int:
        return self._event_count

    @staticmethod
    def _compute_hash(event: Dict[str, Any]) -> str:
        payload = {k: v for k, v in event.items() if k != "hash"}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def _write_event(self, event_type: str, data: Dict[str, Any]) -> Optional[str]:
        if not self._enabled or self._closed or self._log is None:
            return None
        with self._lock:
            event_id = uuid.uuid4().hex[:16]
            event: Dict[str, Any] = {
                "event_id": event_id,
                "timestamp": time.time(),
                "event_type": event_type,
                "session_id": self._session_id,
                "data": data,
                "prev_hash": self._prev_hash,
            }
            event["hash"] = self._compute_hash(event)
            line = json.dumps(event, separators=(",", ":"))
            self._log._native.record_harness_json(line, str(self._log_path))
            self._prev_hash = event["hash"]
            self._event_count += 1
            return event_id

    @staticmethod
    def verify_chain(log_path: Path) -> Tuple[bool, List[str]]:
        """Harness's own check of a Harness file (for files written before the switch)."""
        errors: List[str] = []
        expected_prev = GENESIS
        with open(log_path) as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    event = json.loads(line)
                except json.JSONDecodeError as e:
                    errors.append(f"Line {lineno}: invalid JSON \u2014 {e}")
                    break
                stored_hash = event.get("hash", "")
                recomputed = AuditLogger._compute_hash(event)
                if recomputed != stored_hash:
                    errors.append(f"Line {lineno}: hash mismatch (stored={stored_hash[:12]}\u2026 recomputed={recomputed[:12]}\u2026)")
                if event.get("prev_hash") != expected_prev:
                    errors.append(f"Line {lineno}: prev_hash mismatch (expected={expected_prev[:12]}\u2026 got={event.get('prev_hash', '')[:12]}\u2026)")
                expected_prev = stored_hash
        return (len(errors) == 0, errors)

    def log_session_start(self, provider: str, model: str) -> Optional[str]:
        return self._write_event("session_start", {"provider": provider, "model": model})

    def log_session_end(self, *, turns: int = 0, total_tokens: int = 0, total_cost: float = 0.0) -> Optional[str]:
        return self._write_event("session_end", {"turns": turns, "total_tokens": total_tokens, "total_cost": total_cost})

    def log_tool_call(self, tool_name: str, args: Optional[Dict[str, Any]] = None) -> Optional[str]:
        data: Dict[str, Any] = {"tool": tool_name}
        if self._log_tool_args and args:
            data["args"] = args
        return self._write_event("tool_call", data)

    def log_tool_result(self, tool_name: str, *, is_error: bool = False, content_length: int = 0) -> Optional[str]:
        return self._write_event("tool_result", {"tool": tool_name, "is_error": is_error, "content_length": content_length})

    def log_permission_decision(self, tool_name: str, decision: str, mode: str) -> Optional[str]:
        return self._write_event("permission_decision", {"tool": tool_name, "decision": decision, "mode": mode})

    def log_provider_call(self, provider: str, model: str, *, input_tokens: int = 0, output_tokens: int = 0,
                          cost: float = 0.0) -> Optional[str]:
        return self._write_event("provider_call", {"provider": provider, "model": model, "input_tokens": input_tokens,
                                                   "output_tokens": output_tokens, "cost": cost})

    def log_pii_detected(self, pattern_name: str, context: str) -> Optional[str]:
        return self._write_event("pii_detected", {"pattern": pattern_name, "context": context})


def install(log: Optional[Log] = None) -> None:
    """Makes Harness record into trail without a change to its code: every module of Harness
    that holds ``AuditLogger`` gets this one; ``log`` becomes the default trail log."""
    global _default
    if log is not None:
        with _default_lock:
            _default = log
    import harness.audit.logger as harness_logger  # noqa: F401  (Harness must be importable)

    original = harness_logger.AuditLogger
    if original is AuditLogger:
        return
    for name, module in list(sys.modules.items()):
        if (name == "harness" or name.startswith("harness.")) and getattr(module, "AuditLogger", None) is original:
            _originals.append((module, "AuditLogger", original))
            setattr(module, "AuditLogger", AuditLogger)


def uninstall() -> None:
    """Puts Harness's own ``AuditLogger`` back where ``install`` replaced it."""
    while _originals:
        module, name, original = _originals.pop()
        setattr(module, name, original)
