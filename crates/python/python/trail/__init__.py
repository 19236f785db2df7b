"""trail: a tamper-evident flight recorder for AI agents.

``Log`` records into a trail data directory in this process (the same log the ``trail`` command
reads, serves and verifies, under the same writer lock); ``AsyncLog`` does the same without
blocking an asyncio loop; ``Client`` records into a ``trail serve`` node over HTTP.

    import trail
    with trail.Log.init("trail-data", origin="example.com/agents") as log:
        ack = log.record("tool_call", agent="coder", session="s1", action="Bash",
                         body={"command": "ls"})
        print(ack["seq"], ack["hash"])
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import weakref
from typing import Any, Dict, List, Optional

from trail._native import EventError, NativeLog, TrailError

__all__ = ["Log", "AsyncLog", "Client", "TrailError", "EventError"]


def _json(value: Any, what: str) -> str:
    """JSON text trail can take: no NaN or infinities, no lone surrogates, not too deep. A value
    that is not is named by its JSON pointer."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")
        return text
    except (TypeError, ValueError, RecursionError) as e:
        where = _not_json_at(value, "", set())
        # A key holding a lone surrogate is named escaped: the message itself must print.
        at = f" at {(where or '/').encode('utf-8', 'backslashreplace').decode()}" if where is not None else ""
        if isinstance(e, UnicodeEncodeError):
            bad = e.object[e.start:e.end] if isinstance(e.object, str) else ""
            reason = f"a lone surrogate ({bad.encode('unicode_escape').decode()}) has no UTF-8"
        else:
            reason = str(e)
        raise EventError(f"{what} is not JSON{at}: {reason}") from None


def _not_json_at(value: Any, path: str, open_: set) -> Optional[str]:
    """The JSON pointer of the first part of ``value`` that json.dumps (or UTF-8) refuses, or
    None when none is found (the refusal was of the whole, e.g. its depth)."""
    def token(key: str) -> str:  # RFC 6901
        return key.replace("~", "~0").replace("/", "~1")

    def refused(leaf: Any) -> bool:
        try:
            json.dumps(leaf, allow_nan=False, ensure_ascii=False).encode("utf-8")
            return False
        except (TypeError, ValueError, RecursionError):
            return True

    if isinstance(value, (dict, list, tuple)):
        if id(value) in open_ or len(open_) > 200:
            return path  # a cycle, or nesting beyond what any JSON parser here takes
        open_.add(id(value))
        try:
            if isinstance(value, dict):
                for k, v in value.items():
                    if refused({k: None}):
                        return f"{path}/{token(str(k))}"
                    name = next(iter(json.loads(json.dumps({k: None}))))
                    found = _not_json_at(v, f"{path}/{token(name)}", open_)
                    if found is not None:
                        return found
            else:
                for i, v in enumerate(value):
                    found = _not_json_at(v, f"{path}/{i}", open_)
                    if found is not None:
                        return found
        finally:
            open_.discard(id(value))
        return None
    return path if refused(value) else None


def _event(kind: str, fields: Dict[str, Any]) -> str:
    if "kind" in fields:
        raise EventError("kind: give the kind once, as the first argument")
    event = dict(fields)
    event["kind"] = kind
    return _json(event, "the event")


_FILTERS = {"from", "to", "kind", "category", "action", "status", "agent", "session", "conversation",
            "actor", "source", "trace_id", "search", "cursor", "limit", "ascending"}


def _query(filters: Dict[str, Any]) -> Dict[str, Any]:
    """Filters as trail names them; ``since``/``until`` stand for ``from``/``to`` (a keyword).
    An unknown filter is an error, not ignored (a typo would otherwise match everything)."""
    q = dict(filters)
    for alias, name in (("since", "from"), ("until", "to")):
        if alias in q:
            q[name] = q.pop(alias)
    unknown = sorted(set(q) - _FILTERS)
    if unknown:
        raise EventError(f"unknown filter {unknown[0]!r} (filters: since, until, {', '.join(sorted(_FILTERS - {'from', 'to'}))})")
    return {k: v for k, v in q.items() if v is not None}


# Logs this process opened: a child forked from it inherits them without the recorder's threads
# and with the parent's writer lock, so each is marked there and refuses every call (a child
# that recorded through it could be acknowledged for an event never stored, or fork the log).
_open_logs: "weakref.WeakSet[Log]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for log in list(_open_logs):
        log._native._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Log:
    """A trail log opened for writing in this process.

    ``record`` returns once the event is stored as the log's durability says (``commit``: synced
    to disk). One ``Log`` may be shared by threads: the GIL is released while an append waits.
    It is not inherited across ``os.fork()``: in a forked child every call raises
    ``TrailError`` (the parent stays the log's writer).
    """

    def __init__(self, native: NativeLog):
        self._native = native
        # One event at a time is the hot path: the native method is ``record`` itself (same
        # signature, checks and fallback as the method below), without a Python frame around it.
        self.record = native.record
        _open_logs.add(self)

    @classmethod
    def init(cls, path: "os.PathLike[str] | str", origin: str, store: str = "sqlite",
             durability: str = "commit") -> "Log":
        """Creates a log in a new data directory (as ``trail init``) and opens it."""
        return cls(NativeLog.init(os.fspath(path), origin, store, durability))

    @classmethod
    def open(cls, path: "os.PathLike[str] | str") -> "Log":
        """Opens an existing log, taking its writer lock (another writer is waited for; a log a
        ``trail serve`` node holds is refused, naming the node to send events to)."""
        return cls(NativeLog.open(os.fspath(path)))

    @property
    def origin(self) -> str:
        return self._native.origin

    @property
    def path(self) -> str:
        return os.fspath(self._native.path)

    def record(self, kind: str, **fields: Any) -> Dict[str, Any]:
        """Records one event; returns ``{"seq", "id", "hash", "created"}`` once it is stored.
        Raises ``EventError`` naming the field trail refuses."""
        # Instances call ``NativeLog.record`` directly (see ``__init__``); this is its text.
        return self._native.record(kind, **fields)

    def record_many(self, events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Records events (dicts with a ``kind``) in order, sharing commits. Every event's fields
        are checked before any is stored (a bad one stores none); one the scan policy blocks
        stops the batch there, the ones before it stored."""
        if type(events) is list:
            acks = self._native.record_many(events)
            if acks is not None:
                return acks
        texts = [_json(event, f"event {i}") for i, event in enumerate(events)]
        return json.loads(self._native.record_many_json(texts))

    def flush(self) -> str:
        """Waits until everything recorded is stored and covered by a signed checkpoint; returns
        that checkpoint (a C2SP signed note)."""
        return self._native.flush()

    def close(self) -> None:
        """Signs a final checkpoint and releases the log. Closing twice is fine."""
        self._native.close()

    def query(self, **filters: Any) -> List[Dict[str, Any]]:
        """Records matching the filters (``kind``, ``agent``, ``session``, ``status``, ``action``,
        ``source``, ``since``/``until`` (RFC 3339), ``search``, ``limit``, ``ascending``,
        ``cursor``), newest first: each ``{"seq", "hash", "record", "body"}``."""
        page = json.loads(self._native.query_json(json.dumps(_query(filters))))
        return page["records"]

    def scan(self, limit: Optional[int] = None, **filters: Any):
        """Every record matching the filters, oldest first, page by page (``query``'s filters);
        at most ``limit`` records when it is given."""
        for own in ("ascending", "cursor"):
            if own in filters:
                raise EventError(f"scan: {own}: scan reads oldest first from the start and pages itself; "
                                 "query() takes it")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise EventError(f"scan: limit: expected a number of records, 0 or more, found {limit!r}")
        cursor = None
        left = limit
        while left is None or left > 0:
            n = 1000 if left is None else min(1000, left)
            page = self.query(ascending=True, limit=n, cursor=cursor, **filters)
            yield from page
            if left is not None:
                left -= len(page)
            if len(page) < n:
                return
            cursor = page[-1]["seq"]

    def verify(self) -> Dict[str, Any]:
        """Verifies the log as ``trail verify`` does; ``{"verdict", "intact", "report"}``."""
        return json.loads(self._native.verify_json())

    def __enter__(self) -> "Log":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncLog:
    """``Log`` for asyncio: every call runs on a worker thread, so the loop never blocks."""

    def __init__(self, log: Log):
        self._log = log

    @staticmethod
    async def _run(fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    @classmethod
    async def init(cls, path, origin: str, store: str = "sqlite", durability: str = "commit") -> "AsyncLog":
        return cls(await cls._run(Log.init, path, origin, store, durability))

    @classmethod
    async def open(cls, path) -> "AsyncLog":
        return cls(await cls._run(Log.open, path))

    @property
    def origin(self) -> str:
        return self._log.origin

    async def record(self, kind: str, **fields: Any) -> Dict[str, Any]:
        return await self._run(self._log.record, kind, **fields)

    async def record_many(self, events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return await self._run(self._log.record_many, events)

    async def flush(self) -> str:
        return await self._run(self._log.flush)

    async def close(self) -> None:
        await self._run(self._log.close)

    async def query(self, **filters: Any) -> List[Dict[str, Any]]:
        return await self._run(self._log.query, **filters)

    async def verify(self) -> Dict[str, Any]:
        return await self._run(self._log.verify)

    async def __aenter__(self) -> "AsyncLog":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: following one would send the API key to wherever it points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, f"redirected to {newurl}; not followed", headers, fp)


_OPENER = urllib.request.build_opener(_NoRedirects)


class Client:
    """A ``trail serve`` node over HTTP, with ``Log``'s ``record``, ``record_many``, ``query``
    and ``verify``. ``api_key`` is sent as the bearer key; ``log`` picks a log the node serves
    other than its default; with ``wait_checkpoint`` each record waits for a signed checkpoint
    that covers it, and its acknowledgement carries its receipt (``c2sp.org/tlog-proof@v1``)."""

    def __init__(self, url: str, api_key: Optional[str] = None, log: Optional[str] = None,
                 timeout: float = 30.0, wait_checkpoint: bool = False):
        if not url.startswith(("http://", "https://")):
            raise TrailError(f"url {url!r} must start with http:// or https://")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.log = log
        self.timeout = timeout
        self.wait_checkpoint = wait_checkpoint

    def _call(self, method: str, path: str, params: Optional[Dict[str, Any]] = None,
              body: Optional[str] = None) -> Any:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if self.log:
            params["log"] = self.log
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        req = urllib.request.Request(self.url + path + query, method=method,
                                     data=body.encode() if body is not None else None)
        req.add_header("Accept", "application/json")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if self.api_key:
            req.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with _OPENER.open(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                message = json.loads(text)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = text.strip() or e.reason
            cls = EventError if e.code in (400, 413, 422) else TrailError
            raise cls(f"{method} {path}: {e.code}: {message}") from None
        except urllib.error.URLError as e:
            raise TrailError(f"{method} {self.url}{path}: {e.reason}") from None
        except (TimeoutError, OSError) as e:
            raise TrailError(f"{method} {self.url}{path}: {e}") from None
        except ValueError as e:
            raise TrailError(f"{method} {self.url}{path}: the answer is not JSON: {e}") from None

    def record(self, kind: str, **fields: Any) -> Dict[str, Any]:
        """Records one event; returns ``{"seq", "id", "hash", "created"}`` once it is stored."""
        page = self._call("POST", "/v1/events", params=self._wait(), body=_event(kind, fields))
        return page["events"][0]

    def record_many(self, events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        text = _json(events, "the events")
        return self._call("POST", "/v1/events", params=self._wait(), body=text)["events"]

    def _wait(self) -> Dict[str, Any]:
        return {"wait": "checkpoint"} if self.wait_checkpoint else {}

    def query(self, **filters: Any) -> List[Dict[str, Any]]:
        """Events matching the filters, as ``GET /v1/events`` returns them."""
        q = _query(filters)
        if isinstance(q.get("ascending"), bool):
            q["ascending"] = str(q["ascending"]).lower()
        return self._call("GET", "/v1/events", params=q)["events"]

    def verify(self) -> Dict[str, Any]:
        """Has the node verify its stored log (``POST /v1/verify``): ``{"intact", "records",
        "verified_size", "unsigned_tail", "problems", ...}``."""
        return self._call("POST", "/v1/verify", body="")

    def close(self) -> None:
        """Nothing to release (each call is its own request); for symmetry with ``Log``."""

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
