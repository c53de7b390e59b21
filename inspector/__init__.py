"""Segment Inspector: see and check the Parse.ly pixels your site sends.

The headless core (decoding, the segment spec, checks, page-load analysis, recordings
and reports) lives in this package and never imports the terminal UI, which is in
`inspector.tui`.
"""

__version__ = "0.1.0"
