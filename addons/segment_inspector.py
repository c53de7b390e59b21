"""Judge Parse.ly pixels with mitmproxy's own tools.

Live, as an explicit HTTP proxy on port 8080::

    mitmdump -s addons/segment_inspector.py --set inspector_spec=segments.yaml

Over a recording, without listening (`-n`)::

    mitmdump -n -r session.har -s addons/segment_inspector.py

Each pixel event is logged as one line; add `--set inspector_jsonl=events.jsonl` for
machine-readable output and `--set inspector_answer_pixels=true` to keep test traffic
away from Parse.ly. `mitmdump --options` lists every `inspector_*` option.
"""

from __future__ import annotations

from inspector.addon import SegmentInspector

addons = [SegmentInspector()]
