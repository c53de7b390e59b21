"""Fixtures for the terminal UI tests: a small known recording and a spec.

The recording is written with mitmproxy's own flow writer (through
`inspector.recordings.write_mitm`), so the app reads it exactly as it reads a
capture made by `segment-inspector live --record` or `mitmdump -w`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from inspector.model import CapturedRequest
from inspector.recordings import write_mitm
from inspector.spec import Spec, parse_spec

START = 1_700_000_000.0

SPEC_TEXT = """\
version: 1
sites: [example.com]
segments:
  plan:
    type: string
    values: [basic, premium]
  logged_in:
    type: boolean
  region:
    type: string
"""


def pixel_url(**params: str) -> str:
    """A web pixel for example.com with sensible defaults, overridden by `params`."""
    page = params.pop("page", "https://www.example.com/news/story-1")
    query = {
        "rand": "1700000000123",
        "idsite": "example.com",
        "url": page,
        "urlref": "https://www.google.com/",
        "action": "pageview",
        "plid": "48213377",
        "pvid": "67821",
        "sid": "3",
        "sts": "1699990000000",
        "slts": "1699900000000",
        "surl": "https://www.example.com/",
        "sref": "",
        "title": "Story One | Example",
        "u": "pid=1b4e28ba2fa141d2883f0016d3cca427",
    }
    query.update(params)
    return "https://p1.parsely.com/plogger/?" + urlencode(query)


def known_requests() -> list[CapturedRequest]:
    """One page document and five pixel events with known segment data."""

    def pixel(offset: float, number: int, **params: str) -> CapturedRequest:
        return CapturedRequest(
            method="GET",
            url=pixel_url(**params),
            timestamp=START + offset,
            request_id=f"req-{number}",
            origin=f"known entry {number}",
            response_status=200,
            content_type="image/gif",
        )

    document = CapturedRequest(
        method="GET",
        url="https://www.example.com/news/story-1",
        timestamp=START,
        request_id="req-0",
        origin="known entry 0",
        response_status=200,
        content_type="text/html; charset=utf-8",
    )
    return [
        document,
        pixel(0.2, 1, data=json.dumps({"plan": "premium", "logged_in": True})),
        pixel(
            5.2,
            2,
            action="heartbeat",
            inc="5",
            tt="5000",
            data=json.dumps({"plan": "premium", "logged_in": "true"}),
        ),
        pixel(
            10.0,
            3,
            page="https://www.example.com/news/story-2",
            plid="48213378",
            pvid="67822",
            data=json.dumps({"plan": None}),
        ),
        pixel(
            12.0,
            4,
            page="https://www.example.com/about",
            plid="48213379",
            pvid="67823",
            data="TODO",
        ),
        pixel(
            15.0,
            5,
            idsite="other.org",
            page="https://other.org/home",
            plid="77001",
            pvid="90001",
            data=json.dumps({"plan": "basic"}),
        ),
    ]


def sent_later(requests: list[CapturedRequest], seconds: float):
    """The same requests sent `seconds` later, as other requests: other events."""
    return [
        dataclasses.replace(
            request,
            timestamp=request.timestamp + seconds,
            request_id=f"{request.request_id}+{seconds:g}",
        )
        for request in requests
    ]


@pytest.fixture
def spec() -> Spec:
    return parse_spec(SPEC_TEXT, "test-spec.yaml")


@pytest.fixture
def known_recording(tmp_path: Path) -> Path:
    """The known requests as a `.mitm` flow file."""
    path = tmp_path / "known.mitm"
    write_mitm(known_requests(), path)
    return path


def inspect(requests: list[CapturedRequest], spec: Spec | None = None) -> list:
    """The reports a fresh `Inspection` makes of `requests`."""
    from inspector.inspection import Inspection

    inspection = Inspection(spec)
    return [report for request in requests for report in inspection.process(request)]


@pytest.fixture
def view_app(known_recording: Path, spec: Spec):
    """The `view` UI over the known recording (not yet running)."""
    from inspector.tui.launch import build_view_app

    return build_view_app([known_recording], spec=spec)


async def wait_loaded(app, pilot) -> None:
    """Let the app read and inspect its recordings and show every row."""
    import asyncio

    await asyncio.wait_for(app.loading_finished.wait(), timeout=10)
    app.flush()
    await pilot.pause()
