"""The headless core must never import the terminal UI."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint_imports = shutil.which("lint-imports")
    assert lint_imports, "import-linter is a test dependency"

    result = subprocess.run(
        [lint_imports], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_core_imports_without_textual():
    code = (
        "import sys, inspector.inspection, inspector.report, inspector.recordings;"
        "assert 'textual' not in sys.modules, 'core pulled in textual'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
