"""Tests for inspector.standard: campaigns, referrer categories and geography."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest

from inspector.model import (
    CapturedRequest,
    DataState,
    Finding,
    PixelEvent,
    Severity,
    Transport,
)
from inspector.standard import (
    NO_GEOIP_DB_NOTE,
    GeoIPError,
    StandardResolver,
    StandardSegments,
    canonical_standard_key,
    read_campaign,
    standard_fields,
    standard_mismatches,
)

PAGE = "https://www.example.com/news/story-1/"


def make_event(
    url: str = PAGE,
    urlref: str = "",
    *,
    action: str = "pageview",
    client_address: str | None = "23.32.10.9",
    headers: tuple[tuple[str, str], ...] = (),
    event_id: str = "1",
    **extra_params: str,
) -> PixelEvent:
    """A web pageview pixel as the decoder would hand it over."""
    params = {
        "rand": "1700000000123",
        "idsite": "example.com",
        "url": url,
        "urlref": urlref,
        "data": "{}",
        "action": action,
        "u": "pid=visitor-1",
        **extra_params,
    }
    request = CapturedRequest(
        method="GET",
        url="https://p1.parsely.com/plogger/?" + urlencode(params),
        headers=headers,
        client_address=client_address,
        request_id=event_id,
    )
    return PixelEvent(
        id=event_id,
        request=request,
        transport=Transport.WEB,
        action=action,
        params=params,
        data_state=DataState.OK,
        data={},
        data_raw="{}",
        segments={},
    )


def codes(std: StandardSegments) -> list[str]:
    return [finding.code for finding in std.findings]


def only(std: StandardSegments, code: str) -> Finding:
    found = [finding for finding in std.findings if finding.code == code]
    assert len(found) == 1, std.findings
    return found[0]


# --- Campaigns -------------------------------------------------------------------


def test_newsletter_link_with_utm_on_url():
    url = PAGE + "?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale"
    std = StandardResolver(None).resolve(make_event(url))

    assert std.campaign.campaign == "spring_sale"
    assert std.campaign.campaign_param == "utm_campaign"
    assert std.campaign.medium == "email"
    assert std.campaign.source == "newsletter"
    assert std.campaign.content is None
    assert std.campaign.from_surl is False
    assert ("Campaign", "spring_sale (utm_campaign)") in std.rows()
    assert ("Medium", "email (utm_medium)") in std.rows()
    assert std.referrer_category == "direct"
    assert std.findings == ()


def test_campaign_first_match_wins_in_documented_order():
    campaign = read_campaign(
        PAGE + "?campaign=last&cid=5&itm_campaign=promo&WT.mc_id=wt&utm_campaign="
    )

    # utm_campaign is empty, so itm_campaign (second in the list) wins.
    assert campaign.campaign == "promo"
    assert campaign.campaign_param == "itm_campaign"
    assert campaign.outranked == (
        ("cid", "5"),
        ("WT.mc_id", "wt"),
        ("campaign", "last"),
    )


def test_utm_outranks_itm_in_every_field():
    campaign = read_campaign(
        PAGE + "?itm_source=home&utm_source=partner&itm_term=a&_ebid=b"
    )

    assert (campaign.source, campaign.source_param) == ("partner", "utm_source")
    assert (campaign.term, campaign.term_param) == ("a", "itm_term")


def test_parameter_names_match_exactly_and_values_keep_case():
    campaign = read_campaign(PAGE + "?UTM_CAMPAIGN=x&wt.mc_id=y&utm_medium=E+Mail")

    assert campaign.campaign is None
    assert campaign.medium == "E Mail"


def test_campaign_only_from_query_not_fragment():
    campaign = read_campaign(PAGE + "#/route?utm_campaign=spa")

    assert campaign.is_empty


def test_session_campaign_from_surl():
    landing = PAGE + "?utm_campaign=launch&utm_source=partner"
    event = make_event(
        "https://www.example.com/news/story-2/",
        urlref=landing,
        surl=landing,
        sref="https://partner.example.org/",
    )
    std = StandardResolver(None).resolve(event)

    assert std.campaign.is_empty
    assert std.session_campaign is not None
    assert std.session_campaign.from_surl is True
    assert std.session_campaign.campaign == "launch"
    assert std.session_campaign.source_param == "utm_source"
    assert ("Session Campaign", "launch (utm_campaign)") in std.rows()


def test_no_surl_means_no_session_campaign():
    std = StandardResolver(None).resolve(make_event())

    assert std.session_campaign is None


# --- Referrer categories ---------------------------------------------------------


@pytest.mark.parametrize(
    ("urlref", "category", "domain"),
    [
        ("", "direct", None),
        ("https://www.google.com/", "search", "google.com"),
        ("https://www.google.co.uk/search?q=x", "search", "google.co.uk"),
        ("https://duckduckgo.com/", "search", "duckduckgo.com"),
        (
            "android-app://com.google.android.googlequicksearchbox/https/www.google.com",
            "search",
            "com.google.android.googlequicksearchbox",
        ),
        ("https://www.example.com/", "internal", "example.com"),
        ("https://blog.example.com/post", "internal", "example.com"),
        ("http://m.facebook.com/", "social", "facebook.com"),
        ("https://l.facebook.com/l.php?u=x", "social", "facebook.com"),
        ("https://lm.facebook.com/", "social", "facebook.com"),
        ("https://t.co/abc", "social", "t.co"),
        ("https://news.google.com/articles/x", "aggregator", "google.com"),
        ("https://flipboard.com/@x", "aggregator", "flipboard.com"),
        ("https://chatgpt.com/", "ai", "chatgpt.com"),
        ("https://www.perplexity.ai/search", "ai", "perplexity.ai"),
        ("https://gemini.google.com/app", "ai", "google.com"),
        ("https://partner.example.org/page", "other", "example.org"),
        ("android-app://com.example.unknownapp/", "other", "com.example.unknownapp"),
    ],
)
def test_referrer_categories(urlref, category, domain):
    std = StandardResolver(None).resolve(make_event(urlref=urlref))

    assert std.referrer_category == category
    assert std.referrer_domain == domain


def test_referrer_row_shows_the_host_that_decided():
    resolver = StandardResolver(None)

    gemini = resolver.resolve(make_event(urlref="https://gemini.google.com/app"))
    google = resolver.resolve(make_event(urlref="https://www.google.com/"))
    direct = resolver.resolve(make_event(urlref=""))

    assert ("Referrer", "ai (gemini.google.com)") in gemini.rows()
    assert ("Referrer", "search (google.com)") in google.rows()
    assert ("Referrer", "direct") in direct.rows()


def test_registrable_domain_respects_public_suffixes():
    event = make_event(
        "http://www.example.com.br/bebe/artigo/",
        urlref="http://static.example.com.br/",
        idsite="example.com.br",
    )
    std = StandardResolver(None).resolve(event)

    assert (std.referrer_category, std.referrer_domain) == (
        "internal",
        "example.com.br",
    )


def test_spec_extends_internal_domains_and_categories():
    spec = SimpleNamespace(
        standard=SimpleNamespace(
            internal_domains=["example-news.net"],
            referrers={
                "aggregator": ["reader.example.org"],
                "search": ["google.com"],
                "ai": ["android-app://org.example.assistant"],
            },
        )
    )
    resolver = StandardResolver(spec)

    def category(urlref: str) -> str:
        return resolver.resolve(make_event(urlref=urlref)).referrer_category

    assert category("https://www.example-news.net/") == "internal"
    assert category("https://reader.example.org/feed") == "aggregator"
    assert category("https://other.example.org/") == "other"
    assert category("android-app://org.example.assistant/") == "ai"
    # The spec's own entries never shadow a more specific built-in one.
    assert category("https://news.google.com/") == "aggregator"
    assert category("https://www.google.com/") == "search"


def test_spec_referrers_as_a_model_object():
    spec = SimpleNamespace(
        standard=SimpleNamespace(
            internal_domains=[],
            referrers=SimpleNamespace(social=["forum.example.org"], search=[]),
        )
    )
    std = StandardResolver(spec).resolve(
        make_event(urlref="https://forum.example.org/t/1")
    )

    assert std.referrer_category == "social"


# --- Findings --------------------------------------------------------------------


def test_campaign_on_referrer_only_is_a_warning_when_the_visit_has_none():
    event = make_event(
        PAGE,
        urlref="https://www.example.com/?utm_campaign=spring&utm_medium=email",
        surl="https://www.example.com/",
    )
    std = StandardResolver(None).resolve(event)

    finding = only(std, "campaign.on-referrer-only")
    assert finding.severity is Severity.WARNING
    assert finding.path == "urlref"
    assert "utm_campaign, utm_medium" in finding.message
    assert "tracked url" in finding.explanation
    assert finding.event_id == "1"


def test_campaign_on_referrer_only_is_info_when_the_session_has_it():
    landing = "https://www.example.com/?utm_campaign=spring"
    event = make_event(PAGE, urlref=landing, surl=landing)
    std = StandardResolver(None).resolve(event)

    assert only(std, "campaign.on-referrer-only").severity is Severity.INFO


def test_campaign_on_referrer_only_not_raised_when_url_has_a_campaign():
    event = make_event(
        PAGE + "?utm_campaign=spring",
        urlref="https://partner.example.org/?utm_campaign=theirs",
    )
    std = StandardResolver(None).resolve(event)

    assert "campaign.on-referrer-only" not in codes(std)


def test_page_findings_are_not_repeated_by_heartbeats():
    resolver = StandardResolver(None)
    url = PAGE + "?utm_campaign=x"
    urlref = "https://www.example.com/"

    pageview = resolver.resolve(make_event(url, urlref, pvid="p1"))
    heartbeat = resolver.resolve(
        make_event(url, urlref, action="heartbeat", pvid="p1", event_id="2")
    )
    next_pageview = resolver.resolve(make_event(url, urlref, pvid="p2", event_id="3"))

    assert codes(pageview) == ["campaign.utm-internal"]
    assert codes(heartbeat) == []
    assert codes(next_pageview) == ["campaign.utm-internal"]


def test_campaign_case_variants_reported_once_per_variant_set():
    resolver = StandardResolver(None)

    def resolve(query: str, event_id: str) -> StandardSegments:
        return resolver.resolve(make_event(PAGE + query, event_id=event_id))

    first = resolve("?utm_campaign=Spring_Sale&utm_source=news", "1")
    second = resolve("?utm_campaign=spring_sale&utm_source=news", "2")
    third = resolve("?utm_campaign=SPRING_SALE", "3")
    repeat = resolve("?utm_campaign=spring_sale", "4")

    assert codes(first) == []
    finding = only(second, "campaign.case-variants")
    assert finding.severity is Severity.WARNING
    assert finding.path == "url.utm_campaign"
    assert "'spring_sale'" in finding.message
    assert "'Spring_Sale'" in finding.message
    assert finding.event_id == "2"
    assert codes(third) == []
    assert codes(repeat) == []


def test_case_variants_compare_fields_not_parameters():
    resolver = StandardResolver(None)

    resolver.resolve(make_event(PAGE + "?utm_medium=Email"))
    std = resolver.resolve(make_event(PAGE + "?itm_medium=email", event_id="2"))

    assert only(std, "campaign.case-variants").path == "url.itm_medium"


def test_itm_on_external_traffic():
    event = make_event(
        PAGE + "?itm_campaign=homepage_hero&itm_source=home",
        urlref="https://www.facebook.com/",
    )
    std = StandardResolver(None).resolve(event)

    finding = only(std, "campaign.itm-external")
    assert finding.severity is Severity.WARNING
    assert finding.path == "url.itm_campaign"
    assert "itm_campaign, itm_source" in finding.message
    assert "social (facebook.com)" in finding.message


def test_itm_on_internal_or_direct_traffic_is_fine():
    resolver = StandardResolver(None)

    internal = resolver.resolve(
        make_event(PAGE + "?itm_campaign=hero", urlref="https://www.example.com/")
    )
    direct = resolver.resolve(make_event(PAGE + "?itm_campaign=hero", event_id="2"))

    assert codes(internal) == []
    assert codes(direct) == []


def test_utm_on_internal_link():
    event = make_event(
        PAGE + "?utm_source=homepage&utm_campaign=promo",
        urlref="https://blog.example.com/",
    )
    std = StandardResolver(None).resolve(event)

    finding = only(std, "campaign.utm-internal")
    assert finding.severity is Severity.WARNING
    assert finding.path == "url.utm_campaign"
    assert "itm_" in finding.explanation
    assert "campaign.itm-external" not in codes(std)


# --- Geography -------------------------------------------------------------------


def write_city_db(path: Path) -> Path:
    """A tiny GeoLite2-City-shaped database with two networks."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(
        ip_version=6,
        database_type="GeoLite2-City",
        languages=["en"],
        description="test database",
        ipv4_compatible=True,
    )
    writer.insert_network(
        IPSet(["23.32.0.0/16"]),
        {
            "continent": {"code": "NA", "names": {"en": "North America"}},
            "country": {"iso_code": "US", "names": {"en": "United States"}},
            "subdivisions": [{"iso_code": "CA", "names": {"en": "California"}}],
        },
    )
    writer.insert_network(
        IPSet(["85.10.0.0/16"]),
        {
            "continent": {"code": "EU", "names": {"en": "Europe"}},
            "country": {"iso_code": "DE", "names": {"en": "Germany"}},
        },
    )
    writer.to_db_file(str(path))
    return path


def write_odd_db(path: Path) -> Path:
    """A database of a type geoip2 has no model for, with a City-like record."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, database_type="Example-Geo", ipv4_compatible=True)
    writer.insert_network(
        IPSet(["23.32.0.0/16"]),
        {"country": {"iso_code": "FR", "names": {"en": "France"}}},
    )
    writer.to_db_file(str(path))
    return path


def test_geoip_city_database_gives_country(tmp_path):
    db = write_city_db(tmp_path / "city.mmdb")
    with StandardResolver(None, geoip_db=str(db)) as resolver:
        std = resolver.resolve(make_event(client_address="23.32.10.9"))

    assert std.geo is not None
    assert std.geo.country_code == "US"
    assert std.geo.country_name == "United States"
    assert std.geo.continent_code == "NA"
    assert std.geo.subdivision_code == "CA"
    assert std.geo_note is None
    assert std.client_address == "23.32.10.9"
    assert ("Country", "US United States") in std.rows()
    assert ("Subdivision", "CA California") in std.rows()
    fields = standard_fields(std)
    assert (fields["country"], fields["continent"], fields["subdivision"]) == (
        "US",
        "NA",
        "CA",
    )


def test_geoip_prefers_x_parsely_ip_header(tmp_path):
    db = write_city_db(tmp_path / "city.mmdb")
    event = make_event(
        client_address="23.32.10.9", headers=(("x-parsely-ip", "85.10.1.7"),)
    )
    with StandardResolver(None, geoip_db=str(db)) as resolver:
        std = resolver.resolve(event)

    assert std.client_address == "85.10.1.7"
    assert std.geo is not None
    assert std.geo.country_code == "DE"
    assert std.geo.subdivision_code is None


def test_geoip_ipv4_mapped_address(tmp_path):
    db = write_city_db(tmp_path / "city.mmdb")
    with StandardResolver(None, geoip_db=str(db)) as resolver:
        std = resolver.resolve(make_event(client_address="::ffff:23.32.10.9"))

    assert std.client_address == "23.32.10.9"
    assert std.geo is not None
    assert std.geo.country_code == "US"


def test_documentation_addresses_are_not_looked_up(tmp_path):
    db = write_city_db(tmp_path / "city.mmdb")
    with StandardResolver(None, geoip_db=str(db)) as resolver:
        std = resolver.resolve(make_event(client_address="192.0.2.44"))

    assert std.geo is None
    assert std.geo_note is not None
    assert std.geo_note.startswith("192.0.2.44 is a reserved address")


def test_geoip_public_address_missing_from_database(tmp_path):
    db = write_city_db(tmp_path / "city.mmdb")
    with StandardResolver(None, geoip_db=str(db)) as resolver:
        std = resolver.resolve(make_event(client_address="8.8.8.8"))

    assert std.geo is None
    assert std.geo_note == f"8.8.8.8 is not in the GeoIP database {db}"


def test_geoip_unknown_database_type_falls_back_to_raw_records(tmp_path):
    db = write_odd_db(tmp_path / "odd.mmdb")
    with StandardResolver(None, geoip_db=str(db)) as resolver:
        std = resolver.resolve(make_event(client_address="23.32.10.9"))

    assert std.geo is not None
    assert (std.geo.country_code, std.geo.country_name) == ("FR", "France")
    assert std.geo.database_type == "Example-Geo"


@pytest.mark.parametrize("address", ["127.0.0.1", "192.168.1.20", "::1"])
def test_private_addresses_get_a_note_not_an_error(tmp_path, address):
    db = write_city_db(tmp_path / "city.mmdb")
    with StandardResolver(None, geoip_db=str(db)) as resolver:
        std = resolver.resolve(make_event(client_address=address))

    assert std.geo is None
    assert std.geo_note is not None
    assert "has no location" in std.geo_note
    assert std.findings == ()


def test_missing_geoip_database_names_the_file(tmp_path):
    missing = tmp_path / "nowhere" / "GeoLite2-City.mmdb"

    with pytest.raises(GeoIPError, match="GeoLite2-City.mmdb") as raised:
        StandardResolver(None, geoip_db=str(missing))

    assert str(missing) in str(raised.value)


def test_corrupt_geoip_database_names_the_file(tmp_path):
    corrupt = tmp_path / "broken.mmdb"
    corrupt.write_bytes(b"this is not a MaxMind database" * 4)

    with pytest.raises(GeoIPError) as raised:
        StandardResolver(None, geoip_db=str(corrupt))

    assert str(corrupt) in str(raised.value)
    assert "not a valid MaxMind" in str(raised.value)


def test_without_database_geo_is_none_and_note_says_how_to_add_one():
    std = StandardResolver(None).resolve(make_event(client_address="23.32.10.9"))

    assert std.geo is None
    assert std.geo_note == NO_GEOIP_DB_NOTE
    assert "--geoip-db" in std.geo_note
    assert ("Geo", NO_GEOIP_DB_NOTE) in std.rows()
    assert ("Client address", "23.32.10.9") in std.rows()


def test_no_client_address_is_explained():
    std = StandardResolver(None).resolve(make_event(client_address=None))

    assert std.client_address is None
    assert std.geo is None
    assert "no client address" in (std.geo_note or "")


# --- Scenario matching -----------------------------------------------------------


def test_standard_fields_and_scenario_matching(tmp_path):
    db = write_city_db(tmp_path / "city.mmdb")
    event = make_event(
        PAGE + "?utm_medium=email&utm_campaign=Spring",
        urlref="https://www.bing.com/",
    )
    with StandardResolver(None, geoip_db=str(db)) as resolver:
        std = resolver.resolve(event)

    assert standard_fields(std) == {
        "campaign": "Spring",
        "medium": "email",
        "source": None,
        "content": None,
        "term": None,
        "referrer": "search",
        "country": "US",
        "continent": "NA",
        "subdivision": "CA",
    }
    assert standard_mismatches(std, {"medium": "email", "referrer": "Search"}) == []
    assert standard_mismatches(std, {"utm_medium": "email", "country": "us"}) == []
    assert standard_mismatches(std, {"country": "United States"}) == []
    assert standard_mismatches(std, {"source": None}) == []
    assert standard_mismatches(std, {"utm_campaign": "spring"}) == [
        "utm_campaign: expected 'spring', got 'Spring'"
    ]
    assert standard_mismatches(std, {"ref_category": "social"}) == [
        "ref_category: expected 'social', got 'search'"
    ]


def test_unknown_scenario_key_is_rejected():
    assert canonical_standard_key("UTM_Source") == "source"
    with pytest.raises(KeyError):
        canonical_standard_key("city")


def test_a_spec_scenario_may_use_parselys_own_names(tmp_path):
    from inspector.spec import SpecError, load_spec

    path = tmp_path / "segments.yaml"
    path.write_text(
        "version: 1\n"
        "scenarios:\n"
        "  - name: newsletter\n"
        "    standard: {utm_medium: email, UTM_Source: letter, ref_category: direct}\n"
    )
    (scenario,) = load_spec(path).scenarios
    std = StandardResolver(None).resolve(
        make_event(PAGE + "?utm_medium=email&utm_source=letter")
    )

    assert scenario.standard.model_fields_set == {"medium", "source", "referrer"}
    assert standard_mismatches(std, scenario.standard) == []

    path.write_text(
        "version: 1\n"
        "scenarios:\n"
        "  - name: twice\n"
        "    standard: {utm_medium: email, medium: cpc}\n"
    )
    with pytest.raises(SpecError, match="utm_medium and medium both set"):
        load_spec(path)


def test_a_spec_can_move_a_built_in_domain_to_other(tmp_path):
    from inspector.spec import load_spec

    path = tmp_path / "segments.yaml"
    path.write_text(
        "version: 1\nstandard:\n  referrers:\n    other: [news.google.com]\n"
    )
    event = make_event(PAGE, urlref="https://news.google.com/stories/1")

    default = StandardResolver(None).resolve(event)
    moved = StandardResolver(load_spec(path)).resolve(event)

    assert default.referrer_category == "aggregator"
    assert moved.referrer_category == "other"
    assert (
        StandardResolver(load_spec(path))
        .resolve(make_event(PAGE, urlref="https://www.google.com/"))
        .referrer_category
        == "search"
    )


def test_scenario_matching_with_a_model_compares_only_fields_set():
    from pydantic import BaseModel

    class Expected(BaseModel):
        medium: str | None = None
        campaign: str | None = None
        country: str | None = None

    std = StandardResolver(None).resolve(make_event(PAGE + "?utm_medium=email"))

    assert standard_mismatches(std, Expected(medium="email")) == []
    assert standard_mismatches(std, Expected(medium="email", campaign=None)) == []
    assert standard_mismatches(std, Expected(country="US")) == [
        "country: expected 'US', got None"
    ]


# --- Decoded pixels --------------------------------------------------------------


def test_decoded_legacy_heartbeat_with_campaign_and_in_app_referrer():
    from inspector.decode import decode_request

    landing = (
        "http://www.example.org/kids/story/"
        "?utm_source=facebook&utm_medium=social&utm_campaign=FallPromo"
    )
    query = urlencode(
        {
            "rand": "1441064941650",
            "idsite": "example.org",
            "url": landing,
            "urlref": "http://m.facebook.com/",
            "data": '{"parsely_site_uuid":"7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2910"}',
            "sid": "1",
            "surl": landing,
            "sref": "http://m.facebook.com/",
            "action": "heartbeat",
            "inc": "6",
        }
    )
    request = CapturedRequest(
        method="GET",
        url="https://p1.parsely.com/plogger/?" + query,
        client_address="23.32.10.9",
        request_id="hb",
    )
    [event] = decode_request(request)
    std = StandardResolver(None).resolve(event)

    assert (std.campaign.source, std.campaign.medium, std.campaign.campaign) == (
        "facebook",
        "social",
        "FallPromo",
    )
    assert std.session_campaign == read_campaign(landing, from_surl=True)
    assert (std.referrer_category, std.referrer_domain) == ("social", "facebook.com")
    assert std.findings == ()


def test_resolver_reads_a_parsed_spec():
    from inspector.spec import parse_spec

    spec = parse_spec(
        "version: 1\n"
        "standard:\n"
        "  internal_domains: [example-shop.com]\n"
        "  referrers:\n"
        "    aggregator: [digest.example.net]\n"
    )
    resolver = StandardResolver(spec)

    shop = resolver.resolve(make_event(urlref="https://www.example-shop.com/cart"))
    digest = resolver.resolve(make_event(urlref="https://digest.example.net/today"))

    assert shop.referrer_category == "internal"
    assert digest.referrer_category == "aggregator"


def test_local_development_server_is_internal():
    event = make_event(
        "http://localhost:3000/story", urlref="http://localhost:3000/", idsite="dev"
    )
    std = StandardResolver(None).resolve(event)

    assert (std.referrer_category, std.referrer_domain) == ("internal", "localhost")


def test_unparseable_referrer_is_other():
    std = StandardResolver(None).resolve(make_event(urlref="not a url"))

    assert (std.referrer_category, std.referrer_domain) == ("other", None)


def test_ipv6_address_in_an_ipv4_only_database_is_a_note(tmp_path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-Country")
    writer.insert_network(
        IPSet(["23.32.0.0/16"]),
        {"country": {"iso_code": "US", "names": {"en": "United States"}}},
    )
    db = tmp_path / "v4.mmdb"
    writer.to_db_file(str(db))

    with StandardResolver(None, geoip_db=str(db)) as resolver:
        v4 = resolver.resolve(make_event(client_address="23.32.1.1"))
        v6 = resolver.resolve(make_event(client_address="2a00:1450:4001::1"))

    assert v4.geo is not None and v4.geo.country == "US United States"
    assert v4.geo.subdivision is None
    assert v6.geo is None
    assert v6.geo_note is not None
    assert v6.geo_note.startswith(f"could not look up 2a00:1450:4001::1 in {db}")


# --- Remembered lookups ------------------------------------------------------------


def test_same_referrer_is_internal_only_on_its_own_site():
    resolver = StandardResolver(None)
    urlref = "https://www.example.com/news/"

    own_site = resolver.resolve(make_event(urlref=urlref))
    other_site = resolver.resolve(
        make_event("https://shop.example.org/cart", urlref=urlref, idsite="shop.org")
    )
    own_site_again = resolver.resolve(make_event(urlref=urlref, event_id="3"))

    assert own_site.referrer_category == "internal"
    assert (other_site.referrer_category, other_site.referrer_domain) == (
        "other",
        "example.com",
    )
    assert own_site_again.referrer_category == "internal"


def test_site_id_makes_a_referrer_internal_whatever_the_page_was_before():
    resolver = StandardResolver(None)
    urlref = "https://m.example.net/"
    page = "https://amp.example.org/story"

    by_page = resolver.resolve(make_event(page, urlref, idsite="example.org"))
    by_site_id = resolver.resolve(make_event(page, urlref, idsite="example.net"))

    assert by_page.referrer_category == "other"
    assert by_site_id.referrer_category == "internal"


def test_same_address_as_url_and_as_surl_keeps_where_it_came_from():
    resolver = StandardResolver(None)
    landing = PAGE + "?utm_campaign=launch"

    first = resolver.resolve(make_event(landing, surl=landing))
    second = resolver.resolve(make_event(landing, surl=landing, event_id="2"))

    for std in (first, second):
        assert std.campaign.from_surl is False
        assert std.session_campaign is not None
        assert std.session_campaign.from_surl is True
        assert std.campaign.campaign == std.session_campaign.campaign == "launch"


def test_campaign_findings_follow_the_referrer_of_each_event():
    resolver = StandardResolver(None)
    url = PAGE + "?itm_campaign=hero"

    from_outside = resolver.resolve(
        make_event(url, "https://www.facebook.com/", pvid="p1")
    )
    from_inside = resolver.resolve(
        make_event(url, "https://www.example.com/", pvid="p2", event_id="2")
    )

    assert codes(from_outside) == ["campaign.itm-external"]
    assert codes(from_inside) == []


def test_client_addresses_are_judged_one_by_one():
    resolver = StandardResolver(None)

    private = resolver.resolve(make_event(client_address="192.168.1.20"))
    public = resolver.resolve(make_event(client_address="23.32.10.9", event_id="2"))
    private_again = resolver.resolve(
        make_event(client_address="192.168.1.20", event_id="3")
    )

    assert public.geo_note == NO_GEOIP_DB_NOTE
    assert private.geo_note is not None and "private address" in private.geo_note
    assert private_again.geo_note == private.geo_note
    assert private_again.client_address == "192.168.1.20"


def test_lookup_caches_start_over_when_full(monkeypatch):
    monkeypatch.setattr("inspector.standard._CACHE_LIMIT", 3)
    resolver = StandardResolver(None)

    results = [
        resolver.resolve(
            make_event(
                f"https://www.example.com/{number}?utm_source=s{number}",
                f"https://site{number}.example.org/",
                client_address=f"23.32.10.{number}",
                event_id=str(number),
            )
        )
        for number in range(10)
    ]

    assert [std.campaign.source for std in results] == [f"s{n}" for n in range(10)]
    assert {std.referrer_domain for std in results} == {"example.org"}
    assert len(resolver._campaigns) <= 3
    assert len(resolver._addresses) <= 3
    assert len(resolver._resolved) <= 3
    assert len(resolver.referrers._referrer_cache) <= 3


def test_page_view_findings_are_remembered_for_the_latest_page_views(monkeypatch):
    monkeypatch.setattr("inspector.standard._REPORTED_LIMIT", 2)
    resolver = StandardResolver(None)
    url = PAGE + "?utm_campaign=x"
    urlref = "https://www.example.com/"

    first = [
        resolver.resolve(make_event(url, urlref, pvid=f"p{n}", event_id=f"{n}"))
        for n in range(3)
    ]
    latest_repeated = resolver.resolve(make_event(url, urlref, pvid="p2"))

    assert [codes(std) for std in first] == [["campaign.utm-internal"]] * 3
    assert codes(latest_repeated) == []
    assert len(resolver._reported) == 2


def test_a_forwarded_address_is_told_apart_from_the_peer_it_came_through():
    resolver = StandardResolver(None)

    direct = resolver.resolve(make_event(client_address="192.168.1.20"))
    forwarded = resolver.resolve(
        make_event(
            client_address="192.168.1.20",
            headers=(("X-Parsely-IP", "23.32.10.9"),),
            event_id="2",
        )
    )

    assert direct.client_address == "192.168.1.20"
    assert forwarded.client_address == "23.32.10.9"
    assert forwarded.geo_note == NO_GEOIP_DB_NOTE


def test_events_with_the_same_inputs_share_segments_but_not_findings():
    resolver = StandardResolver(None)
    url = PAGE + "?utm_campaign=x"
    urlref = "https://www.example.com/"

    pageview = resolver.resolve(make_event(url, urlref, pvid="p1"))
    first_beat = resolver.resolve(make_event(url, urlref, pvid="p1", event_id="2"))
    second_beat = resolver.resolve(make_event(url, urlref, pvid="p1", event_id="3"))

    assert codes(pageview) == ["campaign.utm-internal"]
    assert first_beat.findings == second_beat.findings == ()
    assert first_beat == replace(pageview, findings=())
    assert second_beat is first_beat
