"""Standard segments: the campaign, referrer category and geography of a pixel event.

Parse.ly derives these server-side; the pixel itself carries no segment fields for
them. This module works them out locally from what the request does carry, so that a
QA engineer can see, before the data reaches Parse.ly, how a visit will be counted:

- **Campaign** comes from the query string of the tracked `url` (and, for the
  session, of `surl`). Each field has a list of recognised parameters, checked in
  order; the first one present with a non-empty value wins. Parameter names are
  matched exactly as Parse.ly documents them (`utm_source`, `WT.mc_id`): a
  differently cased `UTM_SOURCE` is not a campaign parameter. Values keep their case.
- **Referrer category** comes from `urlref`: empty is direct; the site's own domain
  (or a domain the spec lists as internal) is internal; domains in the built-in lists
  (`inspector/data/referrers.yaml`), extended by the spec, are search, social,
  aggregator or ai; anything else is other.
- **Geography** comes from the client's IP address (or the `X-Parsely-IP` header a
  server-side sender adds), looked up in a MaxMind database the user provides.

`StandardResolver` holds the state that spans events of one inspection: the open
GeoIP database, the spellings of campaign values seen so far (to spot case variants)
and which page views already got a campaign finding.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from publicsuffixlist import PublicSuffixList
from ruamel.yaml import YAML

from inspector.model import Finding, PixelEvent, Severity
from inspector.urls import split_url, url_host

logger = logging.getLogger(__name__)


CAMPAIGN_FIELDS = ("campaign", "medium", "source", "content", "term")

CAMPAIGN_PARAMETERS: dict[str, tuple[str, ...]] = {
    "campaign": (
        "utm_campaign",
        "itm_campaign",
        "mbid",
        "utm_cid",
        "cid",
        "pk_campaign",
        "cmpid",
        "WT.mc_id",
        "c",
        "c_id",
        "campaign_id",
        "campaign",
    ),
    "medium": ("utm_medium", "itm_medium"),
    "source": ("utm_source", "itm_source", "__source", "_source"),
    "content": ("utm_content", "itm_content", "par", "_mid", "trkid"),
    "term": ("utm_term", "itm_term", "_ebid"),
}
"""Per campaign field, the query parameters Parse.ly reads, in priority order."""

UTM_PARAMETERS = frozenset(
    name
    for names in CAMPAIGN_PARAMETERS.values()
    for name in names
    if name.startswith("utm_")
)
ITM_PARAMETERS = frozenset(
    name
    for names in CAMPAIGN_PARAMETERS.values()
    for name in names
    if name.startswith("itm_")
)

REFERRER_CATEGORIES = (
    "direct",
    "internal",
    "search",
    "social",
    "aggregator",
    "ai",
    "other",
)
LISTED_CATEGORIES = ("search", "social", "aggregator", "ai")
"""The categories decided by domain lists (built in, extendable by the spec)."""

EXTERNAL_CATEGORIES = frozenset({"search", "social", "aggregator", "ai", "other"})

_NO_ADDRESS_NOTE = (
    "no client address was recorded for this request (HAR files and "
    "pasted requests often lack it)"
)

NO_GEOIP_DB_NOTE = (
    "no GeoIP database: pass --geoip-db PATH to a MaxMind .mmdb "
    "(GeoLite2-City or -Country)"
)

STANDARD_FIELD_ALIASES: dict[str, str] = {
    "campaign": "campaign",
    "utm_campaign": "campaign",
    "itm_campaign": "campaign",
    "campaign_id": "campaign",
    "medium": "medium",
    "utm_medium": "medium",
    "itm_medium": "medium",
    "source": "source",
    "utm_source": "source",
    "itm_source": "source",
    "content": "content",
    "utm_content": "content",
    "itm_content": "content",
    "term": "term",
    "utm_term": "term",
    "itm_term": "term",
    "referrer": "referrer",
    "referrer_category": "referrer",
    "ref_category": "referrer",
    "country": "country",
    "ip_country": "country",
    "continent": "continent",
    "ip_continent": "continent",
    "subdivision": "subdivision",
    "ip_subdivision": "subdivision",
}
"""Names a spec scenario may use under `standard:`, mapped to `standard_fields` keys.

Besides the plain names, the `utm_*`/`itm_*` parameter names and the Parse.ly raw-data
column names (`ref_category`, `ip_country`...) are accepted.
"""


_CACHE_LIMIT = 20_000
"""Entries a lookup cache (URLs, referrers, addresses) holds before it starts over."""
_REPORTED_LIMIT = 100_000
"""Page views whose campaign findings are remembered, to report them once each."""
_SPELLINGS_LIMIT = 50_000
"""Distinct campaign values whose spellings are remembered, for case variants."""


class GeoIPError(Exception):
    """The GeoIP database could not be opened; the message names the file."""


# --- Values ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Campaign:
    """The campaign fields read from one URL's query string."""

    campaign: str | None = None
    medium: str | None = None
    source: str | None = None
    content: str | None = None
    term: str | None = None
    campaign_param: str | None = None
    """The query parameter `campaign` came from, such as `utm_campaign`."""
    medium_param: str | None = None
    source_param: str | None = None
    content_param: str | None = None
    term_param: str | None = None
    from_surl: bool = False
    """True when read from the session's first URL (`surl`) rather than `url`."""
    url: str | None = None
    """The URL the fields were read from."""
    outranked: tuple[tuple[str, str], ...] = ()
    """Recognised `(parameter, value)` pairs that lost to an earlier parameter."""

    def value(self, field_name: str) -> str | None:
        """The value of one field (`campaign`, `medium`, ...)."""
        return getattr(self, field_name)

    def param(self, field_name: str) -> str | None:
        """The parameter one field came from."""
        return getattr(self, f"{field_name}_param")

    def items(self) -> list[tuple[str, str, str]]:
        """`(field, value, parameter)` for every field that has a value."""
        found = []
        for field_name in CAMPAIGN_FIELDS:
            value = self.value(field_name)
            param = self.param(field_name)
            if value is not None and param is not None:
                found.append((field_name, value, param))
        return found

    @property
    def is_empty(self) -> bool:
        return not self.items()

    @property
    def params_used(self) -> tuple[str, ...]:
        """The parameters whose values were taken."""
        return tuple(param for _, _, param in self.items())


@dataclass(frozen=True, slots=True)
class Geo:
    """Where the client's IP address is, as far as the GeoIP database knows."""

    address: str
    continent_code: str | None = None
    continent_name: str | None = None
    country_code: str | None = None
    """ISO 3166-1 alpha-2, such as `US`."""
    country_name: str | None = None
    subdivision_code: str | None = None
    """The most specific subdivision's ISO 3166-2 code part, such as `CA`."""
    subdivision_name: str | None = None
    database_type: str | None = None

    @property
    def continent(self) -> str | None:
        return _code_and_name(self.continent_code, self.continent_name)

    @property
    def country(self) -> str | None:
        return _code_and_name(self.country_code, self.country_name)

    @property
    def subdivision(self) -> str | None:
        return _code_and_name(self.subdivision_code, self.subdivision_name)


def _code_and_name(code: str | None, name: str | None) -> str | None:
    parts = [part for part in (code, name) if part]
    return " ".join(parts) if parts else None


@dataclass(frozen=True, slots=True)
class StandardSegments:
    """The standard segments of one pixel event, and what looked wrong about them."""

    campaign: Campaign
    session_campaign: Campaign | None
    """Campaign of the session's first URL (`surl`); None when `surl` was not sent."""
    referrer_category: str
    """One of `REFERRER_CATEGORIES`."""
    referrer_domain: str | None
    """Registrable domain of `urlref` (or an app's package name), if any."""
    geo: Geo | None
    client_address: str | None
    geo_note: str | None
    """Why `geo` is missing or partial, when it is."""
    findings: tuple[Finding, ...] = field(default=())
    referrer_name: str | None = None
    """What to show for the referrer: `referrer_domain`, or the full host when a
    list entry for it decided the category (`news.google.com` is an aggregator)."""

    def rows(self) -> list[tuple[str, str]]:
        """`(label, value)` rows for the UI's detail pane and the reports."""
        rows: list[tuple[str, str]] = []

        # Campaign of this hit, then the session's when it differs.
        rows.extend(_campaign_rows(self.campaign, prefix=""))
        if self.session_campaign is not None and _campaign_values(
            self.session_campaign
        ) != _campaign_values(self.campaign):
            rows.extend(_campaign_rows(self.session_campaign, prefix="Session "))

        # Referrer.
        shown = self.referrer_name or self.referrer_domain
        if shown:
            referrer = f"{self.referrer_category} ({shown})"
        else:
            referrer = self.referrer_category
        rows.append(("Referrer", referrer))

        # Geography.
        if self.geo is not None:
            for label, value in (
                ("Continent", self.geo.continent),
                ("Country", self.geo.country),
                ("Subdivision", self.geo.subdivision),
            ):
                if value:
                    rows.append((label, value))
        if self.geo_note:
            rows.append(("Geo", self.geo_note))
        if self.client_address:
            rows.append(("Client address", self.client_address))
        return rows


def _campaign_values(campaign: Campaign) -> list[tuple[str, str]]:
    return [(name, value) for name, value, _ in campaign.items()]


def _campaign_rows(campaign: Campaign, *, prefix: str) -> list[tuple[str, str]]:
    if campaign.is_empty:
        return [(f"{prefix}Campaign", "none")]

    outranked = {}
    for param, _value in campaign.outranked:
        owner = _field_of_param(param)
        if owner is not None:
            outranked.setdefault(owner, []).append(param)

    rows = []
    for field_name, value, param in campaign.items():
        origin = param
        if outranked.get(field_name):
            origin += "; ignored: " + ", ".join(outranked[field_name])
        rows.append((f"{prefix}{field_name.capitalize()}", f"{value} ({origin})"))
    return rows


def _field_of_param(param: str) -> str | None:
    for field_name, names in CAMPAIGN_PARAMETERS.items():
        if param in names:
            return field_name
    return None


# --- Campaigns -------------------------------------------------------------------


def query_pairs(url: str | None) -> list[tuple[str, str]]:
    """The query parameters of a URL, with form decoding (`+` is a space)."""
    if not url:
        return []
    query = split_url(url.strip()).query
    return parse_qsl(query, keep_blank_values=True)


def read_campaign(url: str | None, *, from_surl: bool = False) -> Campaign:
    """Read the campaign fields from a URL's query string, as Parse.ly does.

    Per field the recognised parameters are tried in order and the first one present
    with a non-empty value wins; when a parameter repeats, its first value counts.
    """
    first_values: dict[str, str] = {}
    for name, value in query_pairs(url):
        first_values.setdefault(name, value.strip())

    chosen: dict[str, Any] = {"from_surl": from_surl, "url": url}
    outranked: list[tuple[str, str]] = []
    for field_name, names in CAMPAIGN_PARAMETERS.items():
        for name in names:
            value = first_values.get(name)
            if not value:
                continue
            if field_name in chosen:
                outranked.append((name, value))
                continue
            chosen[field_name] = value
            chosen[f"{field_name}_param"] = name

    return Campaign(**chosen, outranked=tuple(outranked))


# --- Referrers -------------------------------------------------------------------


@lru_cache(maxsize=1)
def _public_suffixes() -> tuple[PublicSuffixList, PublicSuffixList]:
    """Two lists: with private suffixes (for sites), ICANN only (for `name.*`)."""
    return PublicSuffixList(), PublicSuffixList(only_icann=True)


@lru_cache(maxsize=4096)
def registrable_domain(host: str | None) -> str | None:
    """The domain a site registered (`example.co.uk` for `www.example.co.uk`).

    IP addresses and single-label hosts such as `localhost` are returned as they are.
    Answers are remembered per host: referrers and pages repeat a few hosts.
    """
    if not host:
        return None
    host = host.lower().rstrip(".")
    if _is_ip_address(host):
        return host
    with_private, _ = _public_suffixes()
    return with_private.privatesuffix(host) or host


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    host = url_host(url.strip())
    return host.rstrip(".") if host else None


@lru_cache(maxsize=1)
def builtin_referrer_lists() -> dict[str, Any]:
    """The packaged `referrers.yaml`: category -> domains, plus `apps`."""
    text = (
        resources.files("inspector")
        .joinpath("data/referrers.yaml")
        .read_text(encoding="utf-8")
    )
    return YAML(typ="safe").load(text)


_APP_SCHEMES = ("android-app", "ios-app")


def _normalise_entry(entry: str) -> tuple[str, str] | None:
    """`(kind, key)` for a list entry: kind is `domain`, `wildcard` or `app`."""
    text = str(entry).strip().lower()
    if not text:
        return None

    scheme, separator, rest = text.partition("://")
    if separator and scheme in _APP_SCHEMES:
        package = rest.split("/", 1)[0]
        return ("app", package) if package else None
    if separator:
        text = _host_of(text) or ""

    text = text.strip(".")
    if text.startswith("*."):
        text = text[2:]
    if text.endswith(".*"):
        return ("wildcard", text[:-2]) if text[:-2] else None
    return ("domain", text) if text else None


class ReferrerClassifier:
    """Sorts `urlref` into Parse.ly's referrer categories."""

    def __init__(
        self,
        *,
        internal_domains: Iterable[str] = (),
        extra: Mapping[str, Iterable[str]] | None = None,
    ):
        self.internal_domains = frozenset(
            key
            for kind, key in filter(None, map(_normalise_entry, internal_domains))
            if kind == "domain"
        )

        # Built-in lists first, then the spec's, so the spec wins on the same key.
        self._domains: dict[str, tuple[str, bool]] = {}
        self._wildcards: dict[str, tuple[str, bool]] = {}
        self._apps: dict[str, tuple[str, bool]] = {}
        self._referrer_cache: dict[str | None, _Referrer] = {}
        self._site_cache: dict[str | None, str | None] = {}
        builtin = builtin_referrer_lists()
        for category in LISTED_CATEGORIES:
            self._add(category, builtin.get(category) or (), from_spec=False)
        for category, packages in (builtin.get("apps") or {}).items():
            for package in packages:
                self._apps[package.lower()] = (category, False)
        for category, entries in (extra or {}).items():
            if category == "internal":
                self.internal_domains |= {
                    key
                    for kind, key in filter(None, map(_normalise_entry, entries))
                    if kind == "domain"
                }
            elif category in LISTED_CATEGORIES or category == "other":
                self._add(category, entries, from_spec=True)
            else:
                logger.warning(
                    "ignoring referrer category %r from the spec: not one of %s",
                    category,
                    ", ".join(LISTED_CATEGORIES),
                )

    def _add(self, category: str, entries: Iterable[str], *, from_spec: bool) -> None:
        tables = {"domain": self._domains, "wildcard": self._wildcards}
        tables["app"] = self._apps
        for entry in entries:
            normalised = _normalise_entry(entry)
            if normalised is None:
                continue
            kind, key = normalised
            tables[kind][key] = (category, from_spec)

    def classify(
        self, urlref: str | None, *, page_url: str | None, idsite: str | None = None
    ) -> tuple[str, str | None]:
        """`(category, referrer_domain)` for one referrer."""
        category, domain, _ = self.describe(urlref, page_url=page_url, idsite=idsite)
        return category, domain

    def describe(
        self, urlref: str | None, *, page_url: str | None, idsite: str | None = None
    ) -> tuple[str, str | None, str | None]:
        """`(category, referrer_domain, name to show)` for one referrer."""
        referrer = self._referrer_cache.get(urlref)
        if referrer is None:
            if len(self._referrer_cache) >= _CACHE_LIMIT:
                self._referrer_cache.clear()
            referrer = self._referrer_cache[urlref] = self._read_referrer(urlref)
        if referrer.domain is None:
            return referrer.answer

        # Internal: the page's own site, the Site ID's domain or a listed domain.
        domain = referrer.domain
        if (
            referrer.listed_internal
            or domain == self._site_domain(page_url)
            or domain == _idsite_domain(idsite)
        ):
            return "internal", domain, domain
        return referrer.answer

    def _read_referrer(self, urlref: str | None) -> _Referrer:
        """What a referrer says on its own, before the page it led to is known."""
        urlref = (urlref or "").strip()
        if not urlref:
            return _Referrer(("direct", None, None))

        # Apps report themselves as `android-app://<package>/...`.
        parts = split_url(urlref)
        if parts.scheme.lower() in _APP_SCHEMES:
            package = parts.netloc.lower()
            category, _ = self._apps.get(package, ("other", False))
            return _Referrer((category, package or None, package or None))

        host = _host_of(urlref)
        if not host:
            return _Referrer(("other", None, None))
        host = host.lower()
        domain = registrable_domain(host)
        listed_internal = any(
            _within(host, internal) for internal in self.internal_domains
        )

        listed = self._listed_category(host)
        if listed is None:
            return _Referrer(("other", domain, domain), domain, listed_internal)
        category, matched_labels = listed
        domain_labels = domain.count(".") + 1 if domain else 0
        shown = host if matched_labels > domain_labels else domain
        return _Referrer((category, domain, shown), domain, listed_internal)

    def _site_domain(self, page_url: str | None) -> str | None:
        """The registrable domain of the tracked page, remembered per address."""
        try:
            return self._site_cache[page_url]
        except KeyError:
            pass
        if len(self._site_cache) >= _CACHE_LIMIT:
            self._site_cache.clear()
        domain = self._site_cache[page_url] = registrable_domain(_host_of(page_url))
        return domain

    def _listed_category(self, host: str) -> tuple[str, int] | None:
        """The category of the most specific list entry matching `host`, and how
        many of the host's labels that entry matched."""
        candidates: list[tuple[int, bool, bool, str]] = []
        labels = host.split(".")

        for start in range(len(labels)):
            key = ".".join(labels[start:])
            if key in self._domains:
                category, from_spec = self._domains[key]
                candidates.append((len(labels) - start, from_spec, True, category))

        _, icann = _public_suffixes()
        suffix = None if _is_ip_address(host) else icann.publicsuffix(host)
        if suffix and host != suffix:
            stem_labels = host[: -len(suffix) - 1].split(".")
            suffix_size = suffix.count(".") + 1
            for start in range(len(stem_labels)):
                key = ".".join(stem_labels[start:])
                if key in self._wildcards:
                    category, from_spec = self._wildcards[key]
                    size = len(stem_labels) - start + suffix_size
                    candidates.append((size, from_spec, False, category))

        if not candidates:
            return None
        size, _, _, category = max(candidates)
        return category, size


class _Referrer(NamedTuple):
    """A referrer as far as it can be judged without the page it led to."""

    answer: tuple[str, str | None, str | None]
    """`describe`'s answer unless the referrer turns out to be internal."""
    domain: str | None = None
    """The registrable domain of a web referrer; None when `answer` is final."""
    listed_internal: bool = False
    """The host is within one of the spec's internal domains."""


@lru_cache(maxsize=64)
def _idsite_domain(idsite: str | None) -> str | None:
    """The registrable domain of a Site ID that is a domain name, else None."""
    if idsite and "." in idsite and "/" not in idsite:
        return registrable_domain(idsite)
    return None


def _within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


# --- Geography -------------------------------------------------------------------


class GeoLocator:
    """Looks client addresses up in a MaxMind (.mmdb) database."""

    def __init__(self, path: str):
        import geoip2.database
        import maxminddb

        self.path = path
        try:
            self._reader = geoip2.database.Reader(path)
        except FileNotFoundError as error:
            raise GeoIPError(f"GeoIP database not found: {path}") from error
        except IsADirectoryError as error:
            raise GeoIPError(
                f"GeoIP database {path} is a directory; give the .mmdb file in it"
            ) from error
        except PermissionError as error:
            raise GeoIPError(f"GeoIP database {path} is not readable") from error
        except (maxminddb.InvalidDatabaseError, ValueError, OSError) as error:
            raise GeoIPError(
                f"GeoIP database {path} is not a valid MaxMind .mmdb file ({error})"
            ) from error

        self.database_type = self._reader.metadata().database_type
        self._raw_reader: Any = None
        self._cache: dict[str, tuple[Geo | None, str | None]] = {}
        logger.info("opened GeoIP database %s (%s)", path, self.database_type)

    def close(self) -> None:
        self._reader.close()
        if self._raw_reader is not None:
            self._raw_reader.close()

    def locate(self, address: str) -> tuple[Geo | None, str | None]:
        """`(geo, note)` for a public IP address."""
        if address not in self._cache:
            self._cache[address] = self._lookup(address)
        return self._cache[address]

    def _lookup(self, address: str) -> tuple[Geo | None, str | None]:
        import geoip2.errors
        import maxminddb

        try:
            try:
                record = self._model_lookup(address)
            except TypeError:
                # Not a City/Country layout geoip2 knows: read the raw record.
                return self._raw_lookup(address)
        except geoip2.errors.AddressNotFoundError:
            return None, f"{address} is not in the GeoIP database {self.path}"
        except (ValueError, maxminddb.InvalidDatabaseError) as error:
            # An IPv6 address in an IPv4-only database, or a damaged record.
            logger.debug("GeoIP lookup of %s failed: %s", address, error)
            return None, f"could not look up {address} in {self.path}: {error}"

        # Country databases have no subdivisions.
        subdivisions = getattr(record, "subdivisions", None)
        subdivision = subdivisions.most_specific if subdivisions else None
        geo = Geo(
            address=address,
            continent_code=record.continent.code,
            continent_name=record.continent.name,
            country_code=record.country.iso_code,
            country_name=record.country.name,
            subdivision_code=subdivision.iso_code if subdivision else None,
            subdivision_name=subdivision.name if subdivision else None,
            database_type=self.database_type,
        )
        return geo, _partial_note(geo)

    def _model_lookup(self, address: str) -> Any:
        database_type = self.database_type or ""
        if "Enterprise" in database_type:
            return self._reader.enterprise(address)
        if "City" in database_type:
            return self._reader.city(address)
        if "Country" in database_type:
            return self._reader.country(address)
        raise TypeError(f"unknown GeoIP database type {database_type!r}")

    def _raw_lookup(self, address: str) -> tuple[Geo | None, str | None]:
        import maxminddb

        if self._raw_reader is None:
            self._raw_reader = maxminddb.open_database(self.path)
        record = self._raw_reader.get(address)
        if not isinstance(record, Mapping):
            return None, f"{address} is not in the GeoIP database {self.path}"

        subdivisions = record.get("subdivisions") or [{}]
        subdivision = subdivisions[-1] if isinstance(subdivisions, list) else {}
        geo = Geo(
            address=address,
            continent_code=_raw_field(record.get("continent"), "code"),
            continent_name=_raw_name(record.get("continent")),
            country_code=_raw_field(record.get("country"), "iso_code"),
            country_name=_raw_name(record.get("country")),
            subdivision_code=_raw_field(subdivision, "iso_code"),
            subdivision_name=_raw_name(subdivision),
            database_type=self.database_type,
        )
        return geo, _partial_note(geo)


def _raw_field(section: Any, key: str) -> str | None:
    if isinstance(section, Mapping) and isinstance(section.get(key), str):
        return section[key]
    return None


def _raw_name(section: Any) -> str | None:
    names = section.get("names") if isinstance(section, Mapping) else None
    if isinstance(names, Mapping) and isinstance(names.get("en"), str):
        return names["en"]
    return None


def _partial_note(geo: Geo) -> str | None:
    if geo.country_code or geo.continent_code:
        return None
    return f"the GeoIP database has a record for {geo.address} but no country"


def client_address_of(event: PixelEvent) -> str | None:
    """The visitor's address: `X-Parsely-IP` if a server sent one, else the peer."""
    forwarded = event.request.header("X-Parsely-IP")
    if forwarded and forwarded.strip():
        return forwarded.split(",")[0].strip()
    return event.request.client_address or None


_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
) + (ipaddress.ip_network("fc00::/7"),)
"""Networks for local use (RFC 1918, carrier-grade NAT, unique local IPv6)."""


NO_LOCATION_ADVICE = (
    "Parse.ly will see your public address instead (capture from a device on a "
    "public network, or have a server-side sender pass X-Parsely-IP)"
)
"""What to do about client addresses that can have no location."""


def unlocatable_kind(address: str) -> str | None:
    """`loopback`, `link-local`, `private` or `reserved` for an IP address that can
    have no location; None for a public address or text that is no IP address."""
    try:
        parsed = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        parsed = parsed.ipv4_mapped

    if parsed.is_loopback:
        return "loopback"
    if parsed.is_link_local:
        return "link-local"
    if any(parsed in network for network in _PRIVATE_NETWORKS):
        return "private"
    if not parsed.is_global or parsed.is_multicast:
        return "reserved"
    return None


def _not_locatable_note(address: str) -> str | None:
    """Why an address cannot have a location, or None when it is a public one."""
    kind = unlocatable_kind(address)
    if kind is None:
        try:
            ipaddress.ip_address(address.strip("[]").split("%")[0])
        except ValueError:
            return f"client address {address!r} is not an IP address"
        return None

    article = "an" if kind[0] in "aeiou" else "a"
    shown = _normalise_address(address)
    return (
        f"{shown} is {article} {kind} address, so it has no location; "
        f"{NO_LOCATION_ADVICE}"
    )


def _normalise_address(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    return str(parsed)


# --- Resolver --------------------------------------------------------------------


class StandardResolver:
    """Works out standard segments for every event of one inspection.

    Args:
        spec: The segment spec (`spec.standard.internal_domains`,
            `spec.standard.referrers`), or None for the defaults. Personal data
            in campaign values is reported by the per-event checks, which scan
            every query parameter of `url` and `surl`.
        geoip_db: Path to a MaxMind .mmdb database (GeoLite2-City or -Country).

    Raises:
        GeoIPError: `geoip_db` is missing or not a MaxMind database.
    """

    def __init__(self, spec: Any = None, *, geoip_db: str | None = None):
        self.spec = spec
        standard = getattr(spec, "standard", None)
        self.referrers = ReferrerClassifier(
            internal_domains=getattr(standard, "internal_domains", None) or (),
            extra=_as_category_mapping(getattr(standard, "referrers", None)),
        )
        self.geo_locator = GeoLocator(geoip_db) if geoip_db else None

        self._spellings: OrderedDict[tuple[str, str], list[str]] = OrderedDict()
        """Spellings seen per campaign field and case-folded value, oldest first."""
        self._reported: OrderedDict[tuple[Any, ...], None] = OrderedDict()
        """Page-view findings already given, oldest first (a bounded set)."""

        # Pure lookups remembered per value: pixels of one page view repeat them.
        self._campaigns: dict[tuple[str | None, bool], _CampaignFacts] = {}
        self._addresses: dict[str, tuple[Geo | None, str | None, str]] = {}
        self._resolved: dict[tuple[str | None, ...], tuple[Any, ...]] = {}
        """Per (url, surl, urlref, idsite, client address): the campaigns and the
        standard segments without findings."""

    def close(self) -> None:
        """Close the GeoIP database, if one is open."""
        if self.geo_locator is not None:
            self.geo_locator.close()

    def __enter__(self) -> StandardResolver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def resolve(self, event: PixelEvent) -> StandardSegments:
        """The standard segments of one event, with campaign findings."""
        params = event.params
        inputs = (
            params.get("url"),
            params.get("surl"),
            params.get("urlref"),
            params.get("idsite"),
            client_address_of(event),
        )
        resolved = self._resolved.get(inputs)
        if resolved is None:
            resolved = self._resolve(*inputs)
            if len(self._resolved) >= _CACHE_LIMIT:
                self._resolved.clear()
            self._resolved[inputs] = resolved

        campaign, session_campaign, segments = resolved
        findings = self._campaign_findings(
            event,
            campaign,
            session_campaign,
            segments.referrer_category,
            segments.referrer_domain,
        )
        if not findings:
            return segments  # immutable, so events with the same inputs share it
        return replace(segments, findings=tuple(findings))

    def _resolve(
        self,
        url: str | None,
        surl: str | None,
        urlref: str | None,
        idsite: str | None,
        address: str | None,
    ) -> tuple[_CampaignFacts, _CampaignFacts | None, StandardSegments]:
        """Everything but the findings, which depend on what came before."""
        campaign = self._campaign(url, False)
        session_campaign = self._campaign(surl, True) if surl is not None else None
        category, domain, referrer_name = self.referrers.describe(
            urlref, page_url=url, idsite=idsite
        )
        if address:
            geo, geo_note, normalised = self._address(address)
        else:
            geo, geo_note, normalised = None, _NO_ADDRESS_NOTE, None

        segments = StandardSegments(
            campaign=campaign.campaign,
            session_campaign=(
                session_campaign.campaign if session_campaign is not None else None
            ),
            referrer_category=category,
            referrer_domain=domain,
            geo=geo,
            client_address=normalised,
            geo_note=geo_note,
            referrer_name=referrer_name,
        )
        return campaign, session_campaign, segments

    def _campaign(self, url: str | None, from_surl: bool) -> _CampaignFacts:
        """`read_campaign(url)` and what the findings need of it, per address."""
        key = (url, from_surl)
        try:
            return self._campaigns[key]
        except KeyError:
            pass

        campaign = read_campaign(url, from_surl=from_surl)
        items = tuple(campaign.items())
        used = {param for _, _, param in items}
        facts = _CampaignFacts(
            campaign,
            items,
            ", ".join(param for _, _, param in items),
            sorted(used & ITM_PARAMETERS),
            sorted(used & UTM_PARAMETERS),
        )
        if len(self._campaigns) >= _CACHE_LIMIT:
            self._campaigns.clear()
        self._campaigns[key] = facts
        return facts

    # Geography --------------------------------------------------------------------

    def _address(self, address: str) -> tuple[Geo | None, str | None, str]:
        """`(geo, note, normalised address)` for a client address, per address."""
        try:
            return self._addresses[address]
        except KeyError:
            pass

        geo, note = self._locate(address)
        if len(self._addresses) >= _CACHE_LIMIT:
            self._addresses.clear()
        found = self._addresses[address] = (geo, note, _normalise_address(address))
        return found

    def _locate(self, address: str | None) -> tuple[Geo | None, str | None]:
        if not address:
            return None, _NO_ADDRESS_NOTE

        not_locatable = _not_locatable_note(address)
        if not_locatable:
            return None, not_locatable
        if self.geo_locator is None:
            return None, NO_GEOIP_DB_NOTE
        return self.geo_locator.locate(_normalise_address(address))

    # Campaign findings --------------------------------------------------------------

    def _campaign_findings(
        self,
        event: PixelEvent,
        campaign: _CampaignFacts,
        session_campaign: _CampaignFacts | None,
        category: str,
        domain: str | None,
    ) -> list[Finding]:
        findings: list[Finding] = []
        if campaign.items:
            findings.extend(self._case_variant_findings(event, campaign))

        # The rest describe the page view, which every heartbeat of it repeats.
        candidates = []
        if not campaign.items:
            referrer_campaign = self._campaign(event.params.get("urlref"), False)
            if referrer_campaign.items:
                candidates.append(("campaign.on-referrer-only", "urlref"))
        else:
            referrer_campaign = None
            if campaign.itm and category in EXTERNAL_CATEGORIES:
                candidates.append(("campaign.itm-external", f"url.{campaign.itm[0]}"))
            if campaign.utm and category == "internal":
                candidates.append(("campaign.utm-internal", f"url.{campaign.utm[0]}"))
        if not candidates:
            return findings

        page_view = (
            event.visitor,
            event.pvid or event.plid,
            event.url,
            event.urlref,
        )
        for code, path in candidates:
            key = (code, path, *page_view)
            if key in self._reported:
                continue
            self._reported[key] = None
            if len(self._reported) > _REPORTED_LIMIT:
                self._reported.popitem(last=False)

            if referrer_campaign is not None:
                findings.append(
                    _referrer_only_finding(event, referrer_campaign, session_campaign)
                )
            else:
                findings.append(
                    _mixed_up_finding(event, code, campaign, category, domain)
                )
        return findings

    def _case_variant_findings(
        self, event: PixelEvent, campaign: _CampaignFacts
    ) -> list[Finding]:
        findings = []
        for field_name, value, param in campaign.items:
            key = (field_name, value.casefold())
            spellings = self._spellings.get(key)
            if spellings is None:
                spellings = self._spellings[key] = []
                if len(self._spellings) > _SPELLINGS_LIMIT:
                    self._spellings.popitem(last=False)
            if value in spellings:
                continue
            spellings.append(value)
            if len(spellings) != 2:
                continue
            earlier = spellings[0]
            findings.append(
                Finding(
                    code="campaign.case-variants",
                    severity=Severity.WARNING,
                    message=(
                        f"Campaign {field_name} {value!r} ({param}) was also sent "
                        f"as {earlier!r}"
                    ),
                    path=f"url.{param}",
                    explanation=(
                        "The same campaign value arrives in different letter case. "
                        "Campaign reports group values exactly as sent, so these "
                        "visits are split over two rows. Pick one spelling (usually "
                        "lower case) in every link that carries this campaign."
                    ),
                    event_id=event.id,
                )
            )
        return findings


class _CampaignFacts(NamedTuple):
    """A URL's campaign with what the findings ask of it, worked out once."""

    campaign: Campaign
    items: tuple[tuple[str, str, str], ...]
    """`campaign.items()`: empty when the URL carries no campaign."""
    params_used: str
    """The parameters the values came from, comma-separated."""
    itm: list[str]
    """Internal (`itm_*`) parameters used, sorted."""
    utm: list[str]
    """External (`utm_*`) parameters used, sorted."""


def _referrer_only_finding(
    event: PixelEvent,
    referrer_campaign: _CampaignFacts,
    session_campaign: _CampaignFacts | None,
) -> Finding:
    """`campaign.on-referrer-only`: the campaign is on `urlref` but not on `url`."""
    params = referrer_campaign.params_used
    session_has_campaign = session_campaign is not None and bool(session_campaign.items)
    if session_has_campaign:
        severity = Severity.INFO
        explanation = (
            "Parse.ly reads campaigns from the query string of the tracked url, "
            "never from urlref. This page was reached from a page that carried "
            "campaign parameters, and the session's first URL (surl) has a "
            "campaign, so the visit is attributed there; nothing is lost."
        )
    else:
        severity = Severity.WARNING
        explanation = (
            "Parse.ly reads campaigns from the query string of the tracked url, "
            "never from urlref, and neither url nor the session's first URL "
            "(surl) carries any. If the landing page reported a URL without its "
            "query (a canonical URL, or a url override in the tracker "
            "settings), the campaign of this visit is lost: send the full "
            "address with its campaign parameters as url."
        )
    return Finding(
        code="campaign.on-referrer-only",
        severity=severity,
        message=(
            f"Campaign parameters ({params}) are on the referrer but not on "
            "the tracked url"
        ),
        path="urlref",
        explanation=explanation,
        event_id=event.id,
    )


def _mixed_up_finding(
    event: PixelEvent,
    code: str,
    campaign: _CampaignFacts,
    category: str,
    domain: str | None,
) -> Finding:
    """`campaign.itm-external` or `campaign.utm-internal` for one page view."""
    origin = f"{category} ({domain})" if domain else category
    if code == "campaign.itm-external":
        itm = campaign.itm
        return Finding(
            code="campaign.itm-external",
            severity=Severity.WARNING,
            message=(
                f"Internal campaign parameters ({', '.join(itm)}) on a visit "
                f"from outside the site: {origin}"
            ),
            path=f"url.{itm[0]}",
            explanation=(
                "itm_* parameters are meant for promotions between your own "
                "pages. Here the visitor arrived from another site, usually "
                "because a URL with itm_* parameters was copied and shared, "
                "or an external link was tagged with itm_* instead of utm_*. "
                "The visit is then credited to an internal promotion. Tag "
                "external links with utm_* and keep itm_* off shareable "
                "URLs (for example, strip them after the page has loaded)."
            ),
            event_id=event.id,
        )

    utm = campaign.utm
    return Finding(
        code="campaign.utm-internal",
        severity=Severity.WARNING,
        message=(
            f"UTM parameters ({', '.join(utm)}) on a link between your "
            f"own pages: referrer {origin}"
        ),
        path=f"url.{utm[0]}",
        explanation=(
            "utm_* parameters describe how a visitor reached the site. "
            "Put on a link from one of your own pages to another, they "
            "replace the campaign that really brought the visitor (a "
            "newsletter, a search ad) with your internal promotion, and "
            "the original campaign loses the credit. Use itm_* "
            "parameters for internal links."
        ),
        event_id=event.id,
    )


def _as_category_mapping(value: Any) -> dict[str, list[str]]:
    """`spec.standard.referrers` as a dict, whether a mapping or a model."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        items = value.items()
    elif hasattr(value, "model_dump"):
        items = value.model_dump().items()
    else:
        items = vars(value).items()
    return {str(key): list(entries or ()) for key, entries in items}


# --- Scenario matching -----------------------------------------------------------


def standard_fields(std: StandardSegments) -> dict[str, str | None]:
    """Flat values scenarios compare against: campaign fields, referrer, geo codes."""
    fields: dict[str, str | None] = {
        name: std.campaign.value(name) for name in CAMPAIGN_FIELDS
    }
    fields["referrer"] = std.referrer_category
    geo = std.geo
    fields["country"] = geo.country_code if geo else None
    fields["continent"] = geo.continent_code if geo else None
    fields["subdivision"] = geo.subdivision_code if geo else None
    return fields


def display_fields(std: StandardSegments) -> list[tuple[str, str]]:
    """The standard segments as reports list them: the referrer (with its domain),
    then each campaign and geography field that has a value."""
    fields = standard_fields(std)
    referrer = fields.pop("referrer") or "direct"
    domain = std.referrer_name or std.referrer_domain
    shown = [("referrer", f"{referrer} ({domain})" if domain else referrer)]
    shown.extend((name, value) for name, value in fields.items() if value)
    return shown


def canonical_standard_key(key: str) -> str:
    """The `standard_fields` key for a name used in a spec scenario.

    Raises:
        KeyError: the name is not a standard segment field or alias.
    """
    return STANDARD_FIELD_ALIASES[key.strip().lower()]


def standard_mismatches(std: StandardSegments, expected: Any) -> list[str]:
    """How an event's standard segments differ from a scenario's `standard:` map.

    `expected` is a mapping, or a pydantic model of which only the fields the spec
    set are compared. Campaign values compare exactly (their case matters in
    reports); the referrer category and geography compare case-insensitively, and a
    country, continent or subdivision may be given by code or by name. An expected
    None means "absent". Returns one description per difference; empty means the
    event matches.
    """
    expected = _expected_items(expected)
    actual = standard_fields(std)
    geo_names = {
        "country": std.geo.country_name if std.geo else None,
        "continent": std.geo.continent_name if std.geo else None,
        "subdivision": std.geo.subdivision_name if std.geo else None,
    }

    mismatches = []
    for key, wanted in expected.items():
        name = canonical_standard_key(key)
        have = actual[name]
        if _standard_value_matches(name, have, wanted, geo_names.get(name)):
            continue
        mismatches.append(f"{key}: expected {wanted!r}, got {have!r}")
    return mismatches


def _expected_items(expected: Any) -> dict[str, Any]:
    if expected is None:
        return {}
    if isinstance(expected, Mapping):
        return dict(expected)
    if hasattr(expected, "model_fields_set"):
        return {name: getattr(expected, name) for name in expected.model_fields_set}
    return dict(vars(expected))


def _standard_value_matches(
    name: str, have: str | None, wanted: Any, alternative: str | None
) -> bool:
    if wanted is None:
        return have is None
    if have is None:
        return False

    wanted_text = str(wanted)
    if name in CAMPAIGN_FIELDS:
        return have == wanted_text
    candidates = {have.casefold()}
    if alternative:
        candidates.add(alternative.casefold())
    return wanted_text.casefold() in candidates
