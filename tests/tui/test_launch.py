"""Finding the bundled demo recording that `segment-inspector view` opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.recordings import load_requests
from inspector.tui import launch


def test_the_demo_is_the_repository_recording():
    path = launch.demo_recording()

    assert path.name == "demo.mitm"
    assert path.parent.name == "recordings"
    requests, errors = load_requests([path])
    assert requests and errors == []


def test_a_missing_demo_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(launch, "DEMO_IN_REPOSITORY", Path("no/such/demo.mitm"))
    monkeypatch.setattr(launch, "DEMO_PACKAGE_DATA", ("data", "no-such-demo.har"))

    with pytest.raises(launch.DemoNotFound, match="no-such-demo.har"):
        launch.demo_recording()


def test_without_a_repository_the_packaged_copy_is_used(monkeypatch):
    monkeypatch.setattr(launch, "DEMO_IN_REPOSITORY", Path("no/such/demo.mitm"))
    monkeypatch.setattr(launch, "DEMO_PACKAGE_DATA", ("data", "referrers.yaml"))

    path = launch.demo_recording()

    assert path.parts[-3:] == ("inspector", "data", "referrers.yaml")
    assert path.is_file()
