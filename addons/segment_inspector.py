"""Judge Parse.ly pixels with mitmproxy's own tools, from a checkout of the project.

Live, as an explicit HTTP proxy on port 8080::

    mitmdump -s addons/segment_inspector.py --set inspector_spec=segments.yaml

Over a recording, without listening (`-n`)::

    mitmdump -n -r session.har -s addons/segment_inspector.py

Each pixel event is logged in one line, and each page-level fault (a duplicate
pageview, segment data set after the pageview) as soon as it is known, with the fix
on the next line. Add `--set inspector_jsonl=events.jsonl` for machine-readable
output and `--set inspector_answer_pixels=true` to keep test traffic away from
Parse.ly. mitmproxy's `--options` does not list a script's options: the docstring of
`inspector/addon.py` does. With the package installed (no checkout), use the same
addon as `mitmdump -s "$(python -m inspector.addon)"`.
"""

from __future__ import annotations

from inspector.addon import SegmentInspector

addons = [SegmentInspector()]
