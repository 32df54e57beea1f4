"""Start the local exchange as a real subprocess (tests, the demo, crash drills).

A separate process, not a thread: the bot and the exchange must be killable independently
(``kill -9`` drills), and a client must talk to it over a real socket like to Binance.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from statarb.exchange.admin import LocalExchangeAdmin

READY_LINE = "listening on http://127.0.0.1:"


class LauncherError(RuntimeError):
    """The exchange process did not come up (its log is in the message)."""


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningExchange:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> LocalExchangeAdmin:
        return LocalExchangeAdmin(self.url)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM (the exchange saves its state) and wait."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def kill(self) -> None:
        """SIGKILL: no chance to save anything (durability drills)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def start_local_exchange(
    datadir: Path,
    *,
    log_path: Path,
    port: int | None = None,
    state_path: Path | None = None,
    extra_args: tuple[str, ...] = (),
    startup_timeout_s: float = 60.0,
) -> RunningExchange:
    """Run ``python -m statarb.exchange`` and wait until it prints that it listens."""
    port = port or free_port()
    args = [
        sys.executable,
        "-m",
        "statarb.exchange",
        "--datadir",
        str(datadir),
        "--port",
        str(port),
    ]
    if state_path is not None:
        args += ["--state", str(state_path)]
    args += list(extra_args)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    running = RunningExchange(process, port, log_path)
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if READY_LINE in running.log():
            return running
        if process.poll() is not None:
            raise LauncherError(
                f"local exchange exited with {process.returncode}:\n{running.log()}"
            )
        time.sleep(0.05)
    running.kill()
    raise LauncherError(f"local exchange not ready after {startup_timeout_s} s:\n{running.log()}")
