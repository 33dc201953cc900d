"""resi's Python scraper SDK: the helpers every scraper of `resi:scraper/scraper-world@1.0.0`
needs, beside the bindings componentize-py generates (`wit_world`).

- `fetch` / `get_json`: requests through the host's `http.fetch` (the manifest's allowlist,
  rate limit and size caps apply), retried on 429 (waiting `Retry-After`), 5xx, unreadable
  JSON, the host's rate limit, timeouts and transport errors, with exponential backoff, never
  past a deadline. A refusal by the host (not allowed, private address, too large) is final.
- `Emitter`: emit listings in batches (each batch is committed by the host before the guest
  goes on, so a later failure or timeout loses nothing already emitted), skipping duplicates.
- `listing(...)`: a `Listing` from a source's record, `None` when a required field is missing;
  `bathrooms_hundredths`, `iso8601`, `now_ms`, `config_value`, `quote`.
- `log(level, message)`.

Every module a scraper uses must be imported at the top of a file: the component has no file
system at run time, only what was imported when it was built.
"""

import json
import time

from componentize_py_types import Err
from wit_world.imports import host, http
from wit_world.imports.host import Level
from wit_world.imports.listing import Listing

__all__ = [
    "Emitter", "Err", "FetchFailed", "Level", "Listing", "bathrooms_hundredths",
    "config_value", "fetch", "get_json", "iso8601", "listing", "log", "now_ms", "quote",
]

BACKOFF_BASE_MS = 200
BACKOFF_CAP_MS = 10_000
# Longest single Retry-After honoured; beyond it the wait is capped and the request retried.
RETRY_AFTER_CAP_MS = 60_000


class FetchFailed(Exception):
    """A request that cannot succeed: refused by the host, an unexpected status, retries used
    up or the deadline reached. `str()` says which."""


def now_ms() -> int:
    """Unix time in milliseconds."""
    return int(time.time() * 1000)


def iso8601(ms: int) -> str:
    """ISO 8601 UTC date-time of a unix-milliseconds instant, e.g. 2025-10-01T16:05:00Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def config_value(config, key, default=None):
    """The value of `key` in a task's or manifest's config pairs."""
    for k, v in config:
        if k == key:
            return v
    return default


def log(level, message: str) -> None:
    """A log line in the host's log (level: Level.DEBUG ... Level.ERROR)."""
    host.log(level, message)


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def quote(value: str) -> str:
    """Percent-encodes a query value (every byte but unreserved ASCII)."""
    return "".join(chr(b) if b in _SAFE else "%%%02X" % b for b in value.encode())


def _header(response, name: str):
    for k, v in response.headers:
        if k.lower() == name:
            return v
    return None


def _retry_after_ms(response):
    v = _header(response, "retry-after")
    if v is None or not v.strip().isdigit():
        return None
    return min(int(v.strip()) * 1000, RETRY_AFTER_CAP_MS)


def _backoff_ms(attempt: int) -> int:
    return min(BACKOFF_BASE_MS * (1 << min(attempt, 16)), BACKOFF_CAP_MS)


def _snippet(body: bytes) -> str:
    return bytes(body[:200]).decode("utf-8", "replace")


def fetch(url: str, *, deadline_ms: int, max_attempts: int = 12, method: str = "GET",
          headers=(), body=None, retry_statuses=(429,)):
    """The response to a request, retried on host rate limits, timeouts, transport errors, 5xx
    and `retry_statuses` (waiting `Retry-After` when given). Other statuses are returned as
    they are. Raises FetchFailed when the host refuses the request, retries run out or the
    deadline comes first."""
    last = ""
    for attempt in range(max_attempts):
        if now_ms() >= deadline_ms:
            raise FetchFailed(f"deadline reached before {method} {url} succeeded (last: {last})")
        try:
            r = http.fetch(http.Request(method=method, url=url, headers=list(headers), body=body))
        except Err as e:
            err = e.value
            if isinstance(err, http.FetchError_RateLimited):
                last, wait = f"host rate limit ({err.value} ms)", max(err.value, 1)
            elif isinstance(err, http.FetchError_Timeout):
                last, wait = f"timeout: {err.value}", _backoff_ms(attempt)
            elif isinstance(err, http.FetchError_Transport):
                last, wait = f"transport: {err.value}", _backoff_ms(attempt)
            else:
                name = type(err).__name__.replace("FetchError_", "")
                raise FetchFailed(f"{method} {url}: refused by the host: {name}({err.value!r})")
        else:
            if r.status in retry_statuses or 500 <= r.status <= 599:
                last = f"HTTP {r.status}: {_snippet(r.body)}"
                wait = _retry_after_ms(r)
                if wait is None:
                    wait = _backoff_ms(attempt)
            else:
                return r
        if now_ms() + wait >= deadline_ms:
            raise FetchFailed(f"deadline reached while retrying {method} {url} (last: {last})")
        log(Level.DEBUG, f"{method} {url}: {last}; retrying in {wait} ms")
        time.sleep(wait / 1000)
    raise FetchFailed(f"{method} {url}: gave up after {max_attempts} attempts (last: {last})")


def get_json(url: str, *, deadline_ms: int, max_attempts: int = 12):
    """GET `url` and decode its JSON, retrying as `fetch` does and also on unreadable bodies
    (truncated JSON). `None` is a definitive 404; any other non-200 status is FetchFailed."""
    last = ""
    for attempt in range(max_attempts):
        r = fetch(url, deadline_ms=deadline_ms, max_attempts=max_attempts)
        if r.status == 404:
            return None
        if r.status != 200:
            raise FetchFailed(f"GET {url}: HTTP {r.status}: {_snippet(r.body)}")
        try:
            return json.loads(bytes(r.body))
        except ValueError as e:
            last = f"unreadable body ({len(r.body)} bytes): {e}"
        wait = _backoff_ms(attempt)
        if now_ms() + wait >= deadline_ms:
            raise FetchFailed(f"deadline reached while retrying GET {url} (last: {last})")
        log(Level.DEBUG, f"GET {url}: {last}; retrying in {wait} ms")
        time.sleep(wait / 1000)
    raise FetchFailed(f"GET {url}: gave up after {max_attempts} attempts (last: {last})")


def _text(v):
    return v if isinstance(v, str) and v.strip() else None


def _count(v):
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32 else None


def bathrooms_hundredths(v):
    """Bathrooms (e.g. 2.5) in hundredths (250); None when absent or out of range."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1000:
        return None
    return int(round(v * 100))


def listing(record: dict, *, zipcode: str, scraped_timestamp: str):
    """A Listing from a source's record with the listing's field names (`bathrooms` in rooms,
    not hundredths); None when a required field is missing or neither zpid nor mls_id is set.
    The zipcode defaults to the task's."""
    zpid, mls_id = _text(record.get("zpid")), _text(record.get("mls_id"))
    required = [_text(record.get(k)) for k in
                ("address", "listing_date", "property_type", "listing_status", "source_url")]
    if (zpid is None and mls_id is None) or None in required:
        return None
    price = record.get("price")
    return Listing(
        zpid=zpid, mls_id=mls_id, address=required[0],
        zipcode=_text(record.get("zipcode")) or zipcode,
        price=price if isinstance(price, int) and not isinstance(price, bool) and 0 <= price < 2**64 else None,
        bedrooms=_count(record.get("bedrooms")),
        bathrooms_hundredths=bathrooms_hundredths(record.get("bathrooms")),
        sqft=_count(record.get("sqft")),
        listing_date=required[1], property_type=required[2], listing_status=required[3],
        days_on_market=_count(record.get("days_on_market")),
        source_url=required[4], scraped_timestamp=scraped_timestamp,
    )


class Emitter:
    """Emits listings to the host in batches, skipping any whose zpid (or mls_id) was emitted
    before in this scrape. `emitted` counts what was sent."""

    def __init__(self):
        self.emitted = 0
        self._seen = set()

    def emit(self, listings) -> int:
        """Emits the new ones of `listings` as one batch; returns how many were new."""
        batch = []
        for l in listings:
            key = l.zpid or l.mls_id
            if key not in self._seen:
                self._seen.add(key)
                batch.append(l)
        if batch:
            host.emit(batch)
            self.emitted += len(batch)
        return len(batch)
