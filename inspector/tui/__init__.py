"""The Textual terminal UI, the only part of the package that imports Textual.

`run_view(recordings, ...)` opens recordings; `run_live(...)` runs the proxy and
shows its pixels. Both build an `InspectorApp` (see `inspector.tui.app`).
"""

from __future__ import annotations

from inspector.tui.launch import (
    build_live_app,
    build_view_app,
    demo_recording,
    read_recordings,
    run_live,
    run_view,
)

__all__ = [
    "build_live_app",
    "build_view_app",
    "demo_recording",
    "read_recordings",
    "run_live",
    "run_view",
]
