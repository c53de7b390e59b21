"""One module per `segment-inspector` subcommand.

Each module exposes `add_arguments(parser)` and `run(args) -> int` (the exit status).
They are imported only when their subcommand runs, so `check` never pays for Textual.
"""
