"""A news site's pixel traffic at scale, for the benchmarks.

The requests come from `inspector.traffic`, which plays pages and the tracker the way
a browser does, so the pixels carry what real ones carry: per-event `rand`, a fresh
`plid` and `pvid` per page load, visitor ids `u` from a pool of returning and new
readers, session fields, `title` and `date`, and browser headers. On top of that the
traffic has the spread a live site shows:

- articles picked by popularity (a few are read a lot, most rarely), the home page
  and section fronts, with one to a handful of pageviews per visit and a varying
  number of heartbeats per pageview;
- readers arriving directly, from search engines, social networks, aggregators and
  AI assistants, from other sites, and from newsletters and social posts tagged with
  `utm_*` parameters; internal promotions tagged with `itm_*`;
- segment data per reader (plan, sign-in state, region, articles read);
- a few percent of faulty pixels: placeholders, case variants, wrong JSON types,
  undeclared keys, data that is not JSON or is encoded twice, segment data set after
  the pageview, top-level segment parameters, missing actions, personal data in page
  URLs and cut-off URLs.

With `long_tail`, values that a long live session never stops meeting keep coming:
new articles, a campaign id per newsletter send, and a per-reader id in the segment
data of some readers (an integration mistake the checks report), so memory tests see
every per-value table grow as far as it is allowed to.

Everything is drawn from seeded random generators, so a run is reproducible.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from inspector.model import CapturedRequest
from inspector.traffic import PIXEL_ENDPOINT, Page, Session, Tracker, segment_hook

logger = logging.getLogger(__name__)

START = 1_718_000_000.0
"""When the generated traffic starts (2024-06-10, seconds since the epoch)."""

SITE = "https://www.example.com"
SECTIONS = ("city", "business", "sport", "culture", "opinion", "science", "travel")
ARTICLES = 3000
PLANS = ("basic", "premium", "subscriber", None)
REGIONS = ("us", "uk", "intl")

SEARCH_ENGINES = (
    "https://www.google.com/",
    "https://www.google.co.uk/",
    "https://www.bing.com/search?q=example+news",
    "https://duckduckgo.com/",
)
SOCIAL = (
    "https://www.facebook.com/",
    "https://t.co/x7Pq2Lk",
    "https://www.linkedin.com/",
    "https://www.reddit.com/r/news/",
)
AGGREGATORS = ("https://news.google.com/", "https://flipboard.com/")
AI_ASSISTANTS = ("https://chatgpt.com/", "https://www.perplexity.ai/")
OTHER_SITES = 400
"""Distinct other websites that link to the site."""

CONCURRENT_VISITS = 8
"""Readers on the site at the same time; their requests interleave."""
VISITS_PER_SESSION = 150
"""Visits per `Session` object, which keeps every request it sent in memory."""


@dataclass
class _Reader:
    """A returning reader's identity and what the site knows about them."""

    uid: str
    plan: str | None
    logged_in: bool
    region: str
    articles_read: int
    sends_id: bool = False
    """The site's code puts this reader's own id into the segment data."""


def news_site_traffic(
    events: int, *, seed: int = 1, pages: bool = False, long_tail: bool = False
) -> Iterator[CapturedRequest]:
    """`events` pixel requests of a busy news site, in the order they were sent.

    With `pages`, the requests around the pixels (documents, style sheets, scripts,
    the tracker script) are included too, as a full capture holds them; they do not
    count towards `events`. `long_tail` adds values that never repeat (see above).
    """
    traffic = _Traffic(seed, pages, long_tail)
    faults = random.Random(seed + 1)
    sent = 0
    for number in itertools.count():
        for request in traffic.session_requests(number):
            if request.url.startswith(PIXEL_ENDPOINT):
                if sent >= events:
                    return
                sent += 1
                yield _maybe_damaged(request, faults)
            elif pages:
                yield request


class _Traffic:
    def __init__(self, seed: int, pages: bool, long_tail: bool):
        self.rng = random.Random(seed)
        self.pages = pages
        self.long_tail = long_tail
        self.clock = START
        self.visits = 0

        # A few articles are read a lot and most rarely (a Zipf-like spread).
        self.articles = [
            f"{SITE}/{SECTIONS[number % len(SECTIONS)]}/2024/06/"
            f"{number % 28 + 1:02d}/story-{number}/"
            for number in range(ARTICLES)
        ]
        self.article_weights = list(
            itertools.accumulate(1 / (rank + 1) for rank in range(ARTICLES))
        )
        self.fronts = [f"{SITE}/", *(f"{SITE}/{section}/" for section in SECTIONS)]
        self.other_sites = [
            f"https://blog{number}.example-{number % 37}.org/2024/post-{number}.html"
            for number in range(OTHER_SITES)
        ]
        self.readers: list[_Reader] = []

    def session_requests(self, number: int) -> list[CapturedRequest]:
        """The requests of one batch of interleaved visits, sorted by time."""
        session = Session(
            seed=self.rng.getrandbits(32),
            start=self.clock,
            name=f"s{number}",
            client_address=self.rng.choice(("192.0.2.10", "198.51.100.7")),
        )
        visits = [self._visit(session) for _ in range(VISITS_PER_SESSION)]
        active = visits[:CONCURRENT_VISITS]
        waiting = visits[CONCURRENT_VISITS:]

        # Step the visits in turn: each step is a page load or a heartbeat.
        while active:
            visit = self.rng.choice(active)
            try:
                next(visit)
            except StopIteration:
                active.remove(visit)
                if waiting:
                    active.append(waiting.pop(0))
            session.wait(self.rng.randint(50, 1500))

        requests = session.requests()
        self.clock = session.start + session.now_ms / 1000 + 1
        return requests

    # Readers and visits --------------------------------------------------------------

    def _reader(self) -> _Reader:
        """A returning reader most of the time, else a new one."""
        if self.readers and self.rng.random() < 0.6:
            return self.rng.choice(self.readers)

        plan = self.rng.choice(PLANS)
        reader = _Reader(
            uid="pid=" + f"{self.rng.getrandbits(128):032x}",
            plan=plan,
            logged_in=plan is not None or self.rng.random() < 0.2,
            region=self.rng.choice(REGIONS),
            articles_read=self.rng.randint(0, 40),
            sends_id=self.long_tail and self.rng.random() < 0.1,
        )
        if len(self.readers) < 50_000:
            self.readers.append(reader)
        return reader

    def _visit(self, session: Session) -> Iterator[None]:
        self.visits += 1
        profile = self._reader()
        reader = session.visitor(returning=self.rng.random() < 0.6)
        reader.uid = profile.uid
        url, referrer = self._landing()

        for _ in range(self._pageviews()):
            page = session.open(reader, url, referrer=referrer, assets=self.pages)
            self._track(page, self._data(profile))
            yield

            for _ in range(self._heartbeats()):
                page.engage(self.rng.choice((5, 10, 15, 20, 30)))
                yield

            referrer = page.location
            url = self._article()
            if self.rng.random() < 0.15:
                url += "?itm_source=homepage&itm_medium=promo&itm_campaign=top-stories"

    def _pageviews(self) -> int:
        return min(1 + int(self.rng.expovariate(0.7)), 12)

    def _heartbeats(self) -> int:
        return min(int(self.rng.expovariate(0.3)), 40)

    def _article(self) -> str:
        draw = self.rng.random()
        if draw < 0.1:
            return self.rng.choice(self.fronts)
        if self.long_tail and draw < 0.3:
            # Stories published since the traffic started, one per ten visits.
            number = ARTICLES + self.visits // 10 - self.rng.randint(0, 20)
            return f"{SITE}/news/2024/06/story-{number}/"
        return self.rng.choices(self.articles, cum_weights=self.article_weights)[0]

    def _landing(self) -> tuple[str, str]:
        """The first page of a visit and where the reader came from."""
        url = self._article()
        draw = self.rng.random()
        day = self.rng.randint(1, 28)

        if draw < 0.28:
            return url, ""
        if draw < 0.53:
            return url, self.rng.choice(SEARCH_ENGINES)
        if draw < 0.65:
            referrer = self.rng.choice(SOCIAL)
            if self.rng.random() < 0.5:
                url += (
                    "?utm_source=facebook&utm_medium=social"
                    f"&utm_campaign=story-share-{day}"
                )
            return url, referrer
        if draw < 0.70:
            return url, self.rng.choice(AGGREGATORS)
        if draw < 0.72:
            return url, self.rng.choice(AI_ASSISTANTS)
        if draw < 0.84:
            send = f"{self.visits // 50}" if self.long_tail else f"{day:02d}"
            url += (
                "?utm_source=newsletter&utm_medium=email"
                f"&utm_campaign=daily-2024-06-{send}&utm_content=lead"
            )
            return url, ""
        if draw < 0.997:
            return url, self.rng.choice(self.other_sites)

        # A newsletter link that leaks the reader's address.
        url += f"?utm_source=newsletter&email=reader{day}%40mail.example.net"
        return url, ""

    # Segment data --------------------------------------------------------------------

    def _data(self, reader: _Reader) -> dict[str, Any]:
        data: dict[str, Any] = {
            "plan": reader.plan,
            "logged_in": reader.logged_in,
            "region": reader.region,
        }
        if reader.logged_in:
            data["articles_read"] = reader.articles_read
        if reader.sends_id:
            data["reader_id"] = reader.uid.removeprefix("pid=")

        draw = self.rng.random()
        if draw < 0.01:
            data["plan"] = "undefined"
        elif draw < 0.02:
            data["plan"] = (reader.plan or "basic").capitalize()
        elif draw < 0.03:
            data["logged_in"] = str(reader.logged_in).lower()
        elif draw < 0.035:
            data["Region"] = data.pop("region").upper()
        elif draw < 0.04:
            data["articles_read"] = str(reader.articles_read)
        return data

    def _track(self, page: Page, data: dict[str, Any]) -> None:
        """The site's segment code and tracker, nearly always in the right order."""
        draw = self.rng.random()
        if draw < 0.02:
            # The segment code runs after the tracker sent its pageview.
            page.load_tracker()
            page.parsely.update_defaults({"data": data})
        elif draw < 0.025:
            # The data handed over as a JSON string: encoded twice on the wire.
            page.configure(autotrack=False, on_ready=_string_data_hook(data))
            page.load_tracker()
        elif draw < 0.028:
            # updateDefaults without the `data` wrapper.
            page.configure(autotrack=False, on_ready=_top_level_hook(data))
            page.load_tracker()
        else:
            page.configure(autotrack=False, on_ready=segment_hook(data))
            page.load_tracker()


def _string_data_hook(data: dict[str, Any]):
    def hook(parsely: Tracker) -> None:
        parsely.defaults["data"] = json.dumps(data, separators=(",", ":"))
        parsely.track_page_view()

    return hook


def _top_level_hook(data: dict[str, Any]):
    def hook(parsely: Tracker) -> None:
        parsely.update_defaults({"plan": data.get("plan")})
        parsely.track_page_view()

    return hook


def _maybe_damaged(request: CapturedRequest, rng: random.Random) -> CapturedRequest:
    """Now and then, a pixel damaged on the way: bad JSON, no action, cut short."""
    draw = rng.random()
    url = request.url
    if draw < 0.004 and "&data=" in url:
        start = url.index("&data=") + len("&data=")
        end = url.find("&", start)
        url = url[:start] + "%7Bplan%3Abasic%7D" + (url[end:] if end >= 0 else "")
    elif draw < 0.006:
        url = url.replace("&action=pageview", "").replace("&action=heartbeat", "")
    elif draw < 0.007:
        url = url[: max(len(url) * 2 // 3, 40)]
    else:
        return request
    return replace(request, url=url)
