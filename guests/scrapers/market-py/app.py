"""market-py: the market scraper (guests/scrapers/market) in Python, for `resi market`, built
with componentize-py into a component of `resi:scraper/scraper-world@1.0.0`.

Config (from the scraper manifest), as the Rust scraper reads it:
- base_url (required): the market's origin, e.g. http://127.0.0.1:8787;
- page_size (default 100, at most 500): results per search page;
- max_attempts (default 12): tries per request before giving up;
- verify_budget_ms (default 60000): how long one `verify` may spend retrying.

`scrape` walks GET /api/search?zipcode=..&page=..&page_size=.. page by page and emits each page
as one batch, skipping duplicates; every request is retried by the SDK (429 with Retry-After,
5xx, truncated JSON, host rate limits, transport errors) and nothing waits past the task's
deadline. `verify` looks a home up by zpid (GET /api/homes/{zpid}: 200 found, 404 not found),
or, without an id, by MLS number or address in the zipcode's search results.
"""

from wit_world import exports
from wit_world.exports.scraper import (
    ScraperInfo, ScrapeSummary, Verification_Found, Verification_NotFound,
)

from resi_scraper import (
    Emitter, Err, FetchFailed, Level, config_value, get_json, iso8601, listing, log, now_ms,
    quote,
)

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
DEFAULT_MAX_ATTEMPTS = 12
DEFAULT_VERIFY_BUDGET_MS = 60_000


class Settings:
    def __init__(self, config):
        base = config_value(config, "base_url")
        if base is None:
            raise Err("config key base_url is missing (e.g. http://127.0.0.1:8787)")
        base = base.rstrip("/")
        if not (base.startswith("http://") or base.startswith("https://")):
            raise Err(f"base_url {base!r} must start with http:// or https://")
        self.base = base
        self.page_size = _number(config, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        self.max_attempts = _number(config, "max_attempts", DEFAULT_MAX_ATTEMPTS, 100)


def _number(config, key, default, most):
    v = config_value(config, key)
    if v is None:
        return default
    s = v.strip()
    if s.isdigit() and 1 <= int(s) <= most:
        return int(s)
    raise Err(f"config key {key} must be an integer in 1..={most}, got {v!r}")


def _scrape(task, emitter, counts):
    settings = Settings(task.config)
    zip_ = task.zipcode
    page = 1
    while True:
        url = (f"{settings.base}/api/search?zipcode={quote(zip_)}"
               f"&page={page}&page_size={settings.page_size}")
        result = get_json(url, deadline_ms=task.deadline_ms, max_attempts=settings.max_attempts)
        if result is None:
            raise FetchFailed(f"the market does not know zipcode {zip_} (404)")
        counts["pages"] += 1
        scraped = iso8601(now_ms())
        homes = result.get("results") or []
        batch = []
        for home in homes:
            l = listing(home, zipcode=zip_, scraped_timestamp=scraped)
            if l is None:
                log(Level.WARN, f"page {page}: skipped a home missing required fields")
                continue
            batch.append(l)
        new = emitter.emit(batch)
        total, total_pages = result.get("total", 0), result.get("total_pages", 0)
        log(Level.DEBUG, f"{zip_}: page {page}/{total_pages} -> {new} new of {len(homes)} "
                         f"({emitter.emitted} of {total} so far)")
        if not homes or page >= total_pages:
            if emitter.emitted != total:
                log(Level.WARN, f"{zip_}: the market reports {total} homes, "
                                f"emitted {emitter.emitted}")
            return
        page += 1


class Scraper(exports.Scraper):
    def info(self):
        return ScraperInfo(name="market-py", version="0.1.0", sources=["resi-market"])

    def scrape(self, task):
        emitter, counts = Emitter(), {"pages": 0}
        try:
            _scrape(task, emitter, counts)
        except (FetchFailed, Err) as e:
            detail = e.value if isinstance(e, Err) else str(e)
            raise Err(f"{task.zipcode}: {detail} (after emitting {emitter.emitted} listings "
                      f"in {counts['pages']} pages)")
        log(Level.INFO, f"{task.zipcode}: {emitter.emitted} listings in {counts['pages']} pages")
        return ScrapeSummary(emitted=emitter.emitted, pages=counts["pages"])

    def verify(self, target, config):
        settings = Settings(config)
        budget = config_value(config, "verify_budget_ms")
        if budget is not None and not budget.strip().isdigit():
            raise Err(f"verify_budget_ms {budget!r} is not an integer")
        deadline = now_ms() + (int(budget) if budget is not None else DEFAULT_VERIFY_BUDGET_MS)
        try:
            return _verify(target, settings, deadline)
        except FetchFailed as e:
            raise Err(str(e))


def _verify(target, settings, deadline):
    zpid = target.zpid if target.zpid and target.zpid.strip() else None
    if zpid is None:
        tail = target.source_url.rstrip("/").rsplit("/", 1)[-1]
        if target.source_url.startswith(settings.base) and tail:
            zpid = tail
    if zpid is not None:
        if not (zpid.isascii() and zpid.isdigit()):
            # The market's ids are all digits: this one cannot exist there.
            return Verification_NotFound()
        url = f"{settings.base}/api/homes/{zpid}"
        home = get_json(url, deadline_ms=deadline, max_attempts=settings.max_attempts)
        if home is None:
            return Verification_NotFound()
        l = listing(home, zipcode=target.zipcode, scraped_timestamp=iso8601(now_ms()))
        if l is None:
            raise Err(f"{url}: the market's record lacks required fields")
        return Verification_Found(l)
    # No id: look for the MLS number or the address in the zipcode's search results.
    page = 1
    while True:
        url = (f"{settings.base}/api/search?zipcode={quote(target.zipcode)}"
               f"&page={page}&page_size={MAX_PAGE_SIZE}")
        result = get_json(url, deadline_ms=deadline, max_attempts=settings.max_attempts)
        if result is None:
            return Verification_NotFound()
        scraped = iso8601(now_ms())
        for home in result.get("results") or []:
            hit = ((target.mls_id is not None and home.get("mls_id") == target.mls_id)
                   or (isinstance(home.get("address"), str)
                       and home["address"].lower() == target.address.strip().lower()))
            if hit:
                l = listing(home, zipcode=target.zipcode, scraped_timestamp=scraped)
                if l is not None:
                    return Verification_Found(l)
        if page >= result.get("total_pages", 0):
            return Verification_NotFound()
        page += 1
