"""Entry points that open the terminal UI: `run_view` and `run_live`.

The command modules (`inspector.commands.view`, `inspector.commands.live`) parse
arguments and call these; tests build the same apps with `build_view_app` and
`build_live_app` and drive them with `App.run_test`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import inspector
from inspector.commands import complain
from inspector.tui.app import DEFAULT_MAX_ROWS, InspectorApp
from inspector.tui.logsink import console_logging_silenced

if TYPE_CHECKING:
    from textual.app import App

    from inspector.inspection import Inspection
    from inspector.model import CapturedRequest
    from inspector.recordings import RecordingError
    from inspector.spec import Spec

    Loaded = tuple[list[CapturedRequest], list[RecordingError]]

logger = logging.getLogger(__name__)

DEMO_IN_REPOSITORY = Path("fixtures") / "recordings" / "demo.mitm"
DEMO_PACKAGE_DATA = ("data", "demo.mitm")


class DemoNotFound(Exception):
    """Neither the repository's demo recording nor the packaged copy exists."""


def demo_recording() -> Path:
    """The bundled demo: the repository's `.mitm` when run from a clone, else the
    copy shipped inside the package (`scripts/build_recordings.py` writes both)."""
    repository = Path(inspector.__file__).resolve().parent.parent
    candidate = repository / DEMO_IN_REPOSITORY
    if candidate.is_file():
        return candidate

    packaged = resources.files("inspector").joinpath(*DEMO_PACKAGE_DATA)
    if packaged.is_file():
        return Path(str(packaged))

    raise DemoNotFound(
        f"the demo recording is missing: looked for {candidate} and the packaged "
        f"inspector/{'/'.join(DEMO_PACKAGE_DATA)}"
    )


def read_recordings(recordings: Sequence[str | Path]) -> Loaded:
    """Read every recording; the requests in time order, and the problems met.

    Each file is read on its own. With several files the requests are merged by
    their timestamps (stably, so equal times keep their order), because page loads
    and their diagnoses need the traffic in the order it was sent. A request
    without a timestamp keeps its place after the one before it in its file.
    """
    from inspector.recordings import load_each

    per_file, errors = load_each(recordings)

    if len(per_file) < 2:
        return (per_file[0] if per_file else []), errors

    keyed = []
    for requests in per_file:
        last_time = 0.0
        for request in requests:
            last_time = request.timestamp or last_time
            keyed.append((last_time, request))
    keyed.sort(key=lambda pair: pair[0])
    return [request for _time, request in keyed], errors


def build_view_app(
    recordings: Sequence[str | Path],
    *,
    loaded: Loaded | None = None,
    spec: Spec | None = None,
    geoip_db: str | None = None,
    inspection: Inspection | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    log_level: int = logging.WARNING,
    source_label: str | None = None,
    show_pii: bool = False,
) -> InspectorApp:
    """The UI over recordings, with no proxy.

    `loaded` is what `read_recordings(recordings)` returned, when the caller has
    read them already; otherwise the app reads them once it is up.

    Raises:
        GeoIPError: `geoip_db` cannot be opened.
    """
    from inspector.inspection import Inspection

    if inspection is None:
        inspection = Inspection(spec, geoip_db=geoip_db, max_reports=max_rows)
    return InspectorApp(
        inspection,
        recordings=recordings,
        request_loader=read_recordings,
        loaded=loaded,
        max_rows=max_rows,
        log_level=log_level,
        source_label=source_label,
        show_pii=show_pii,
    )


def build_live_app(
    *,
    spec: Spec | None = None,
    geoip_db: str | None = None,
    inspection: Inspection | None = None,
    listen_host: str = "127.0.0.1",
    listen_port: int = 8080,
    confdir: str | Path | None = None,
    record_path: str | Path | None = None,
    answer_pixels: bool = False,
    jsonl_path: str | Path | None = None,
    show_pii: bool = False,
    overwrite: bool = False,
    max_rows: int = DEFAULT_MAX_ROWS,
    log_level: int = logging.WARNING,
) -> InspectorApp:
    """The UI in front of an embedded mitmproxy (started when the app mounts).

    Raises:
        GeoIPError: `geoip_db` cannot be opened.
    """
    from inspector.inspection import Inspection
    from inspector.proxy import ProxySession

    if inspection is None:
        inspection = Inspection(spec, geoip_db=geoip_db, max_reports=max_rows)

    def make_session(on_reports, on_request) -> ProxySession:
        return ProxySession(
            inspection=inspection,
            listen_host=listen_host,
            listen_port=listen_port,
            confdir=confdir,
            record_path=record_path,
            answer_pixels=answer_pixels,
            on_reports=on_reports,
            on_request=on_request,
            jsonl_path=jsonl_path,
            show_pii=show_pii,
            overwrite=overwrite,
        )

    return InspectorApp(
        inspection,
        session_factory=make_session,
        max_rows=max_rows,
        log_level=log_level,
        save_directory=Path(record_path).parent if record_path else None,
        show_pii=show_pii,
    )


def run_view(
    recordings: Sequence[str | Path],
    *,
    loaded: Loaded | None = None,
    spec: Spec | None = None,
    geoip_db: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    log_level: int = logging.WARNING,
    source_label: str | None = None,
    show_pii: bool = False,
) -> int:
    """Open the UI over recordings until the user quits; returns the exit status."""
    app = build_view_app(
        recordings,
        loaded=loaded,
        spec=spec,
        geoip_db=geoip_db,
        max_rows=max_rows,
        log_level=log_level,
        source_label=source_label,
        show_pii=show_pii,
    )
    return _run(app)


def run_live(
    *,
    spec: Spec | None = None,
    geoip_db: str | None = None,
    inspection: Inspection | None = None,
    listen_host: str = "127.0.0.1",
    listen_port: int = 8080,
    confdir: str | Path | None = None,
    record_path: str | Path | None = None,
    answer_pixels: bool = False,
    jsonl_path: str | Path | None = None,
    show_pii: bool = False,
    overwrite: bool = False,
    max_rows: int = DEFAULT_MAX_ROWS,
    log_level: int = logging.WARNING,
) -> int:
    """Run the proxy and show its pixels until the user quits.

    Returns 0, or 1 when the proxy could not start (the reason is printed to stderr
    after the UI closes, as well as shown in it).
    """
    app = build_live_app(
        spec=spec,
        geoip_db=geoip_db,
        inspection=inspection,
        listen_host=listen_host,
        listen_port=listen_port,
        confdir=confdir,
        record_path=record_path,
        answer_pixels=answer_pixels,
        jsonl_path=jsonl_path,
        show_pii=show_pii,
        overwrite=overwrite,
        max_rows=max_rows,
        log_level=log_level,
    )
    status = _run(app)
    if app.startup_error:
        complain("segment-inspector", app.startup_error)
        return 1
    return status


def _run(app: InspectorApp) -> int:
    with console_logging_silenced():
        result = app.run()
    return exit_status(app, result)


def exit_status(app: App, result: object) -> int:
    """The process status after `app.run()`: 1 when the UI stopped on an error.

    Textual prints the traceback of an unexpected exception, closes the app and
    sets its `return_code` to 1, but `run()` itself returns None, which would
    otherwise read as success.
    """
    if app.return_code:
        return app.return_code
    return result if isinstance(result, int) else 0
