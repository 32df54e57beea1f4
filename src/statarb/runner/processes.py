"""Real processes the demo, the scripts and the tests start: the local exchange and freqtrade.

Nothing here decides anything; it starts programs, waits until they answer, streams their
output so progress is visible, and stops them cleanly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


class ProcessError(RuntimeError):
    """A child process failed; the message carries the tail of its output."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


@dataclass
class LocalExchange:
    """A running `scripts/local_exchange.py`; `base_url` is what ccxt/FreqTrade point at."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    api_key: str
    api_secret: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


def start_local_exchange(
    datadir: Path,
    *,
    log_path: Path,
    port: int | None = None,
    state_file: Path | None = None,
    api_key: str = "local-test-key",
    api_secret: str = "local-test-secret",
    extra_args: Sequence[str] = (),
    timeout: float = 60.0,
) -> LocalExchange:
    """Start the exchange on `datadir` and wait until it answers /fapi/v1/ping."""
    port = port or free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        str(REPO_ROOT / "scripts" / "local_exchange.py"),
        "--datadir",
        str(datadir),
        "--port",
        str(port),
        "--api-key",
        api_key,
        "--api-secret",
        api_secret,
        *(["--state", str(state_file)] if state_file else []),
        *extra_args,
    ]
    with log_path.open("ab") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    exchange = LocalExchange(process, port, log_path, api_key, api_secret)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProcessError(
                f"local exchange exited with {process.returncode}:\n{_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(f"{exchange.base_url}/fapi/v1/ping", timeout=2) as resp:
                if resp.status == 200:
                    return exchange
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    exchange.stop()
    raise ProcessError(f"local exchange did not answer within {timeout:.0f}s:\n{_tail(log_path)}")


@contextlib.contextmanager
def local_exchange(datadir: Path, **kwargs: object) -> Iterator[LocalExchange]:
    exchange = start_local_exchange(datadir, **kwargs)  # type: ignore[arg-type]
    try:
        yield exchange
    finally:
        exchange.stop()


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
        for line in process.stdout:
            out.write(line)
            if echo:
                sys.stdout.write(line)
            if timeout is not None and time.monotonic() - started > timeout:
                process.kill()
                break
        code = process.wait()
    if code != 0:
        raise ProcessError(
            f"freqtrade {' '.join(args[:1])} failed with exit code {code}; "
            f"log: {log_path}\n{_tail(log_path)}"
        )
