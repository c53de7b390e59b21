"""The live UI end to end: a real mitmproxy on 127.0.0.1 inside the app's loop.

Pixels are sent through the proxy as a browser would send them and answered by the
proxy itself (`answer_pixels`), so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import socket
from types import SimpleNamespace

import pytest
from conftest import pixel_url

from inspector.recordings import load_requests
from inspector.tui import app as app_module
from inspector.tui.launch import build_live_app
from inspector.tui.presenters import clock_time


async def wait_for(condition, pilot, timeout: float = 60.0) -> None:
    """Let the app run until `condition()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.05)


@pytest.fixture
def live_app(tmp_path, spec):
    return build_live_app(
        spec=spec,
        listen_port=0,
        confdir=tmp_path / "mitmproxy",
        answer_pixels=True,
    )


async def test_pixels_through_the_proxy_appear_in_the_ui(live_app, proxy_client):
    pixels = [
        pixel_url(data=json.dumps({"plan": "premium", "logged_in": True})),
        pixel_url(
            action="heartbeat",
            inc="5",
            tt="5000",
            data=json.dumps({"plan": "premium", "logged_in": "true"}),
        ),
    ]

    async with live_app.run_test(size=(160, 50)) as pilot:
        await wait_for(lambda: live_app.listen_addresses, pilot)
        address = live_app.listen_addresses[0]
        assert address[0] == "127.0.0.1"
        assert f"listening on 127.0.0.1:{address[1]}" in str(
            live_app.status_bar.render()
        )

        # Until the first event, the table says how to connect; so does the Log.
        help_lines = live_app.events_table.empty_message
        assert help_lines[0] == "Waiting for the first pixel event."
        everything = "\n".join(help_lines)
        assert f"--proxy-server=127.0.0.1:{address[1]}" in everything
        assert "http://mitm.it" in everything
        assert str(live_app.session.ca_cert_path) in everything
        assert "answered here with a 1x1 GIF (--answer-pixels)" in everything
        log = "\n".join(live_app.log_view.plain_lines)
        assert f"Proxy listening on 127.0.0.1:{address[1]}" in log
        assert "http://mitm.it" in log

        for url in pixels:
            response = await proxy_client.get(address, url.replace("https:", "http:"))
            assert response.status == 200
            assert response.header(b"Content-Type") == b"image/gif"

        await wait_for(lambda: live_app.events_table.row_count == 2, pilot)
        table = live_app.events_table
        rows = [table.row_texts(i) for i in range(2)]
        assert [row[2] for row in rows] == ["pageview", "heartbeat"]
        assert rows[1][4] == 'plan="premium" logged_in="true"'
        assert rows[1][5].startswith("▲ segment.type-mismatch")

        # Following: the newest event is selected and shown.
        assert table.cursor_row == 1
        await wait_for(lambda: live_app.detail.report is table.report_at(1), pilot)
        detail = live_app.detail.text.plain
        assert "  action     heartbeat" in detail
        assert "  endpoint   p1.parsely.com/plogger/" in detail
        assert "  response   answered locally (1x1 GIF)" in detail
        assert 'logged_in: "true"  string' in detail
        assert "segment.type-mismatch" in detail.split("\nFindings (")[1]

        # The tracker's blocker probe carries no event, but it is not silent.
        response = await proxy_client.get(address, "http://p1.parsely.com/plogger/")
        assert response.status == 200
        await wait_for(
            lambda: any(
                "tracker blocker probe to p1.parsely.com answered locally" in line
                for line in live_app.log_view.plain_lines
            ),
            pilot,
        )
        assert live_app.events_table.row_count == 2

    assert proxy_client.port_is_closed(address)


async def test_ctrl_c_quits_and_writes_the_recording(tmp_path, spec, proxy_client):
    recording = tmp_path / "session.har"
    app = build_live_app(
        spec=spec,
        listen_port=0,
        confdir=tmp_path / "mitmproxy",
        answer_pixels=True,
        record_path=recording,
    )

    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(lambda: app.listen_addresses, pilot)
        address = app.listen_addresses[0]
        url = pixel_url(data=json.dumps({"plan": "basic"}))
        response = await proxy_client.get(address, url.replace("https:", "http:"))
        assert response.status == 200
        await wait_for(lambda: app.events_table.row_count == 1, pilot)

        await pilot.press("ctrl+c")
        await wait_for(lambda: not app.is_running, pilot)

    assert proxy_client.port_is_closed(address)
    requests, errors = load_requests([recording])
    assert errors == []
    assert [r.url for r in requests] == [url.replace("https:", "http:")]
    assert not any("ctrl+q" in n.message for n in app._notifications)


async def test_a_port_in_use_is_reported_not_fatal(tmp_path, spec):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = build_live_app(
            spec=spec, listen_port=port, confdir=tmp_path / "mitmproxy"
        )

        async with app.run_test(size=(160, 50)) as pilot:
            await wait_for(lambda: app.startup_error is not None, pilot)
            assert str(port) in app.startup_error
            assert "proxy not running" in str(app.status_bar.render())
            assert app.session is None
            assert app.is_running
            notifications = [n.title for n in app._notifications]
            assert "Proxy not started" in notifications


async def test_a_proxy_reachable_from_the_network_is_warned_about_on_screen(
    tmp_path, spec
):
    # On every interface for the length of the test: stderr is hidden behind the
    # full-screen UI, so the warning must show in the UI itself.
    app = build_live_app(
        spec=spec,
        listen_host="0.0.0.0",
        listen_port=0,
        confdir=tmp_path / "mitmproxy",
        answer_pixels=True,
    )
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(lambda: app.listen_addresses, pilot)
        warning = "other machines on the network can use this proxy"
        assert warning in "\n".join(app.events_table.empty_message)
        assert any(
            warning in line and "WARNING" in line for line in app.log_view.plain_lines
        )
        assert any(warning in n.message for n in app._notifications)
        await pilot.press("q")


async def test_an_ipv6_proxy_address_is_written_in_brackets(tmp_path, spec):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    app = build_live_app(
        spec=spec, listen_host="::1", listen_port=0, confdir=tmp_path / "mitmproxy"
    )
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(lambda: app.listen_addresses or app.startup_error, pilot)
        if app.startup_error:
            pytest.skip(f"cannot listen on ::1 here: {app.startup_error}")
        port = app.listen_addresses[0][1]
        help_text = "\n".join(app.events_table.empty_message)
        assert f"--proxy-server=[::1]:{port}" in help_text
        assert f"listening on [::1]:{port}" in str(app.status_bar.render())
        assert "Warning:" not in help_text
        await pilot.press("q")


async def test_spec_warnings_show_in_the_live_ui(tmp_path):
    from inspector.spec import load_spec

    spec_file = tmp_path / "segments.yaml"
    spec_file.write_text(
        "version: 1\nsegments:\n  plan:\n    type: string\n    values: [basic, Basic]\n"
    )
    app = build_live_app(
        spec=load_spec(spec_file, log_warnings=False),
        listen_port=0,
        confdir=tmp_path / "mitmproxy",
        answer_pixels=True,
    )
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(lambda: app.listen_addresses, pilot)
        expected = f"{spec_file}:5:21: warning: segments.plan.values[1]"
        assert any(
            "WARNING" in line and expected in line for line in app.log_view.plain_lines
        )
        assert any(
            n.title == "Spec warnings" and expected in n.message
            for n in app._notifications
        )
        await pilot.press("q")


async def test_clearing_the_live_view_waits_for_the_next_event(live_app, monkeypatch):
    async with live_app.run_test(size=(160, 50)) as pilot:
        await wait_for(lambda: live_app.listen_addresses, pilot)
        before = live_app.events_table.empty_message
        await pilot.press("c")
        await pilot.pause()

        after = live_app.events_table.empty_message
        assert before[0] == "Waiting for the first pixel event."
        assert after[0].startswith("Cleared at ")
        assert after[0].endswith(": waiting for the next pixel event.")
        # How to connect is still there.
        assert after[1:] == before[1:]

        # The Findings and Pages views say so too, in the same words.
        cleared = after[0].split(": ")[0]
        await pilot.press("2")
        await pilot.pause()
        assert live_app.findings_view.text.plain == (
            f"{cleared}: no findings since; those of the next pixel events will "
            "show here."
        )
        await pilot.press("4")
        await pilot.pause()
        assert live_app.pages_view.text.plain == (
            f"{cleared}: no page loads since; those of the next pixel events will "
            "show here."
        )

        # A second clear a minute later says the later time, in every view.
        a_minute_later = live_app._cleared_at + 60
        # Only the app's clock moves: mitmproxy and asyncio keep the real one.
        monkeypatch.setattr(
            app_module, "time", SimpleNamespace(time=lambda: a_minute_later)
        )
        await pilot.press("c")
        await pilot.pause()
        again = f"Cleared at {clock_time(live_app._cleared_at)[:8]}"
        assert again != cleared
        assert live_app.events_table.empty_message[0] == (
            f"{again}: waiting for the next pixel event."
        )
        assert live_app.events_table.empty_message[1:] == before[1:]
        assert live_app.pages_view.text.plain.startswith(f"{again}: ")
        await pilot.press("q")


async def test_live_rows_read_in_the_order_the_pixels_were_sent(live_app, spec):
    # Pixels are reported as their requests finish, so a burst comes out of order
    # (as the proxy would deliver it); the table reads in time order regardless.
    from conftest import inspect, known_requests

    reports = inspect(known_requests(), spec)
    async with live_app.run_test(size=(160, 50)) as pilot:
        await wait_for(lambda: live_app.listen_addresses, pilot)
        table = live_app.events_table

        live_app.receive_reports([reports[3], reports[0]])
        live_app.flush()
        live_app.receive_reports([reports[4], reports[1]])
        live_app.flush()
        await pilot.pause()
        assert table.reports == [reports[0], reports[1], reports[3], reports[4]]
        assert table.selected_report is reports[4]

        # With a filter set, a late pixel still goes to its place.
        live_app.apply_filter("action:pageview")
        await pilot.pause()
        assert table.reports == [reports[0], reports[3], reports[4]]
        live_app.receive_reports([reports[2]])
        live_app.flush()
        await pilot.pause()
        assert table.reports == [reports[0], reports[2], reports[3], reports[4]]

        live_app.apply_filter("")
        await pilot.pause()
        assert table.reports == reports
        assert table.selected_report is reports[4]
        await pilot.press("q")


def table_screen(app) -> list[str]:
    """The events table's lines as on screen, header included."""
    table = app.events_table
    return [
        table.render_line(y).text.strip()
        for y in range(table.scrollable_content_region.height)
    ]


async def test_the_whole_waiting_message_is_on_an_80x24_screen(live_app):
    async with live_app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: live_app.listen_addresses, pilot)
        await pilot.pause()
        table = live_app.events_table

        # Nothing to show in the detail pane yet: the message gets its room.
        assert not live_app.detail.display
        assert table.region.bottom <= live_app.status_bar.region.y
        shown = table_screen(live_app)
        assert shown[2] == "Waiting for the first pixel event."
        assert any(line.startswith("HTTPS:   trust mitmproxy's CA") for line in shown)
        assert any(line.startswith("Pixels:  answered here") for line in shown)
        assert "Press ? for the keys; the Log (5) keeps these lines." in shown
        assert table.max_scroll_y == 0

        # The first pixel brings the detail pane back.
        from conftest import inspect, known_requests

        live_app.receive_reports(inspect(known_requests())[:1])
        live_app.flush()
        await pilot.pause()
        assert live_app.detail.display
        await pilot.press("q")
