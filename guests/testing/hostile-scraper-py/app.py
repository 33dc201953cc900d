"""hostile-scraper-py: a Python scraper that misbehaves on purpose, the counterpart of
guests/testing/hostile-scraper, so the host's tests show every sandbox limit holds for
componentize-py components too. Config `mode` picks the behaviour:
- loop: never returns (stopped by fuel or the timeout);
- membomb: allocates without end (stopped by the memory limit);
- flood: emits batches of 1,000 listings without end (stopped by the manifest's max_listings);
- huge: emits one listing with a 1 MiB address (refused by the host's listing checks);
- fetch: GETs config `url` (outside the allowlist: refused by the host);
- raise: raises an exception that is not the world's error (a trap, not a crash);
- socket: opens a TCP connection to 127.0.0.1:`port` itself, past the host's fetch (WASI
  sockets are linked, but the engine grants no network: refused);
- file: reads /etc/passwd (no directory is preopened: not found).
"""

import encodings.idna  # noqa: F401 (socket's address encoding, imported at build time)
import socket

from wit_world import exports
from wit_world.exports.scraper import ScraperInfo, ScrapeSummary

from resi_scraper import Err, FetchFailed, config_value, fetch, log, Level, now_ms
from wit_world.imports import host
from wit_world.imports.listing import Listing


def one(zipcode, n, address="1 Main St"):
    return Listing(
        zpid=str(n), mls_id=None, address=address, zipcode=zipcode, price=100_000,
        bedrooms=None, bathrooms_hundredths=None, sqft=None, listing_date="2025-01-01",
        property_type="CONDO", listing_status="FOR_SALE", days_on_market=None,
        source_url=f"https://example.invalid/{n}", scraped_timestamp="2025-01-01T00:00:00Z",
    )


class Scraper(exports.Scraper):
    def info(self):
        return ScraperInfo(name="hostile-py", version="0.0.0", sources=[])

    def scrape(self, task):
        mode = config_value(task.config, "mode", "")
        if mode == "loop":
            x = 0
            while True:
                x += 1
        if mode == "membomb":
            hoard = []
            while True:
                hoard.append(bytearray(1 << 20))
        if mode == "flood":
            n = 0
            while True:
                host.emit([one(task.zipcode, n + i) for i in range(1000)])
                n += 1000
        if mode == "huge":
            host.emit([one(task.zipcode, 1, address="A" * (1 << 20))])
            return ScrapeSummary(emitted=1, pages=0)
        if mode == "fetch":
            url = config_value(task.config, "url", "http://203.0.113.7/")
            try:
                fetch(url, deadline_ms=now_ms() + 10_000)
            except FetchFailed as e:
                log(Level.WARN, str(e))
                raise Err(str(e))
            raise Err(f"GET {url} was allowed")
        if mode == "socket":
            port = int(config_value(task.config, "port", "9"))
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.connect(("127.0.0.1", port))
            except Exception as e:
                raise Err(f"refused: {type(e).__name__}: {e}")
            raise Err(f"connected to 127.0.0.1:{port}")
        if mode == "file":
            try:
                with open("/etc/passwd") as f:
                    f.read()
            except OSError as e:
                raise Err(f"refused: {type(e).__name__}: {e}")
            raise Err("read a host file")
        if mode == "raise":
            raise ValueError("not the world's error type")
        raise Err(f"unknown mode {mode!r}")

    def verify(self, target, config):
        raise Err("hostile-py does not verify")
