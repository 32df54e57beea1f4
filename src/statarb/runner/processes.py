"""Running `freqtrade` commands from the demo, the scripts and the tests.

Nothing here decides anything: it starts the program from this environment, streams its output
so progress is visible, keeps a log, and turns a failure into an error carrying the log's tail.
(The local exchange has its own launcher: `statarb.exchange.launcher`.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
FATAL_MARKER = " - freqtrade - ERROR - "


class ProcessError(RuntimeError):
    """A child process failed; the message carries the tail of its output."""


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


def freqtrade_executable() -> str:
    """The `freqtrade` of this interpreter's environment (never one found elsewhere on PATH)."""
    candidate = Path(sys.executable).with_name("freqtrade")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("freqtrade")
    if not found:
        raise ProcessError("freqtrade is not installed in this environment (./run sets it up)")
    return found


def run_freqtrade(
    args: Sequence[str],
    *,
    log_path: Path,
    cwd: Path = REPO_ROOT,
    env: dict[str, str] | None = None,
    echo: bool = True,
    timeout: float | None = None,
) -> None:
    """Run `freqtrade ARGS` to completion; output is teed to `log_path` (and the console)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [freqtrade_executable(), *args]
    full_env = {**os.environ, **(env or {})}
    started = time.monotonic()
    with log_path.open("w") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        process = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        assert process.stdout is not None
        fatal = None
        for line in process.stdout:
            out.write(line)
            if fatal is None and FATAL_MARKER in line:
                fatal = line.strip()
            if echo:
                sys.stdout.write(line)
            if timeout is not None and time.monotonic() - started > timeout:
                process.kill()
                break
        code = process.wait()
    # FreqTrade 2026.9 exits 0 after a configuration error (main.py sets no return code for
    # ConfigurationError), so its own "freqtrade - ERROR" line is what marks the failure.
    if code != 0 or fatal is not None:
        raise ProcessError(
            f"freqtrade {' '.join(args[:1])} failed with exit code {code}; "
            f"log: {log_path}\n{_tail(log_path)}"
        )
