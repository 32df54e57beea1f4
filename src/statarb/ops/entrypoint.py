"""The container's entrypoint: preflight, crash recovery, then `exec freqtrade` as PID 1.

The official image's ENTRYPOINT is `freqtrade`, so a compose `command: sh -c "recovery && …"`
is handed to FreqTrade as arguments and never runs (docs/design.md §6.1). This entrypoint
replaces it:

1. **Preflight** — refuse to start (exit 78, EX_CONFIG) when starting would be unsafe: an empty
   API password or token (the API would accept anyone), a value FreqTrade would read as a
   number, missing exchange keys in live mode, a trade database outside the persistent
   `user_data/` (it would vanish with the container and the bot would forget its positions),
   a config mount that is a directory (docker creates one when the host file is missing), or a
   `user_data/` that the image's user cannot write.
2. **Recovery** — `scripts/state_recovery.py --config …` (same config files as FreqTrade), for
   `trade` only, bounded by `STATARB_RECOVERY_TIMEOUT_S`. If it fails or hangs the bot still
   starts — FreqTrade must keep managing (and closing) the spreads that are open — but the
   manual-review flag is raised first, so no new spread opens until a person looked.
3. **exec** — FreqTrade replaces this process: it is PID 1 and receives docker's SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rapidjson

from statarb.atomic import atomic_write_bytes
from statarb.safety.log import Category, format_line
from statarb.safety.review_flag import ManualReviewFlag
from statarb.settings import SettingsError, parse_settings

EX_CONFIG = 78
RECOVERY_SCRIPT = Path("scripts/state_recovery.py")  # relative to the working dir, /freqtrade
RECOVERY_TIMEOUT_VAR = "STATARB_RECOVERY_TIMEOUT_S"
DEFAULT_RECOVERY_TIMEOUT_S = 120.0
MIN_JWT_SECRET_CHARS = 32  # FreqTrade's schema: api_server.jwt_secret_key minLength
# FreqTrade's own parse mode for config files (comments and trailing commas allowed).
CONFIG_PARSE_MODE = rapidjson.PM_COMMENTS | rapidjson.PM_TRAILING_COMMAS

API_SECRETS = (
    "FREQTRADE__API_SERVER__USERNAME",
    "FREQTRADE__API_SERVER__PASSWORD",
    "FREQTRADE__API_SERVER__JWT_SECRET_KEY",
    "FREQTRADE__API_SERVER__WS_TOKEN",
)
EXCHANGE_SECRETS = ("FREQTRADE__EXCHANGE__KEY", "FREQTRADE__EXCHANGE__SECRET")
# FreqTrade's environment_vars keeps these as text; every other value that looks like a number
# or a boolean is converted, and a converted secret then fails the schema (or worse, matches).
FREQTRADE_NO_CONVERT = ("CHAT_ID", "PASSWORD")
PLACEHOLDER_PREFIX = "replace-with"  # every value in .env.example starts with it


# ------------------------------------------------------------------------- arguments


@dataclass(frozen=True)
class FreqtradeArgs:
    """What the entrypoint needs from FreqTrade's command line."""

    command: str | None
    configs: tuple[str, ...]
    logfile: str | None = None
    db_url: str | None = None
    user_data_dir: str | None = None
    dry_run: bool = False


def parse_freqtrade_args(args: Sequence[str]) -> FreqtradeArgs:
    """The options FreqTrade accepts as `-c X`, `--config X` or `--config=X`."""
    wanted = {
        "-c": "configs",
        "--config": "configs",
        "--logfile": "logfile",
        "--log-file": "logfile",
        "--db-url": "db_url",
        "--userdir": "user_data_dir",
        "--user-data-dir": "user_data_dir",
    }
    values: dict[str, Any] = {"configs": []}
    command = args[0] if args and not args[0].startswith("-") else None
    index = 0
    while index < len(args):
        arg = args[index]
        name, sep, inline = arg.partition("=")
        if name in wanted and (sep or index + 1 < len(args)):
            value = inline if sep else args[index + 1]
            index += 1 if sep else 2
            if wanted[name] == "configs":
                values["configs"].append(value)
            else:
                values[wanted[name]] = value
            continue
        if arg == "--dry-run":
            values["dry_run"] = True
        index += 1
    return FreqtradeArgs(
        command=command,
        configs=tuple(values.pop("configs")),
        **values,
    )


# --------------------------------------------------------------------------- preflight


def read_as_non_string(value: str) -> bool:
    """True when FreqTrade's env-var loader would turn `value` into a number, a boolean or a
    list (freqtrade/configuration/environment_vars.py, `_get_var_typed`)."""
    for convert in (int, float):
        try:
            convert(value)
        except ValueError:
            continue
        return True
    if value.lower() in ("t", "true", "f", "false"):
        return True
    try:
        return isinstance(rapidjson.loads(value), list)
    except ValueError:
        return False


def secret_problems(env: Mapping[str, str], *, live: bool) -> list[str]:
    """Secrets come only from the environment (the compose env file), never from config.json."""
    problems = []
    names = API_SECRETS + (EXCHANGE_SECRETS if live else ())
    for name in names:
        value = env.get(name, "")
        if not value.strip():
            problems.append(f"{name} is empty or not set (put it in the .env file)")
            continue
        if value.startswith(PLACEHOLDER_PREFIX):
            problems.append(f"{name} is still the placeholder from .env.example")
            continue
        converted = not any(name.endswith(f"__{k}") for k in FREQTRADE_NO_CONVERT)
        if converted and read_as_non_string(value):
            problems.append(
                f"{name} looks like a number, a boolean or a list; FreqTrade would read it as "
                "one — use a random string with letters"
            )
    jwt = env.get("FREQTRADE__API_SERVER__JWT_SECRET_KEY", "")
    if jwt.strip() and len(jwt) < MIN_JWT_SECRET_CHARS:
        problems.append(
            f"FREQTRADE__API_SERVER__JWT_SECRET_KEY has {len(jwt)} characters; FreqTrade needs "
            f"at least {MIN_JWT_SECRET_CHARS}"
        )
    return problems


def sqlite_path(db_url: str, cwd: Path) -> Path | None:
    """The file of a `sqlite:///relative` or `sqlite:////absolute` URL; None for other DBs."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix):
        return None
    rest = db_url[len(prefix) :]
    if not rest or rest == ":memory:":
        return None
    path = Path(rest)
    return path if path.is_absolute() else cwd / path


def db_problems(db_url: str | None, cwd: Path, user_data_dir: Path) -> list[str]:
    """The lesson of docs/design.md §6.3: a database outside the volume vanishes when the
    container is recreated, and the bot restarts with no memory of its open positions."""
    if not db_url:
        return ["db_url is not set: FreqTrade would use its default outside user_data/"]
    if db_url.startswith("sqlite://") and sqlite_path(db_url, cwd) is None:
        return [f"db_url {db_url!r} is not a file: every restart would forget the trades"]
    path = sqlite_path(db_url, cwd)
    if path is None:
        return []  # a database server: persistence is its own business
    resolved, volume = _normalise(path), _normalise(user_data_dir)
    if volume not in resolved.parents:
        return [
            f"db_url points at {resolved}, outside the persistent {volume}: the trade database "
            "would be lost when the container is recreated"
        ]
    return []


def _normalise(path: Path) -> Path:
    return Path(os.path.normpath(path.absolute()))


def file_problems(paths: Sequence[Path]) -> list[str]:
    problems = []
    for path in paths:
        if path.is_dir():
            problems.append(
                f"{path} is a directory: docker mounted a host path that does not exist "
                "(create the file on the host before `docker compose up`)"
            )
        elif not path.is_file():
            problems.append(f"{path} does not exist")
    return problems


def writable_problems(user_data_dir: Path) -> list[str]:
    """The image runs as uid 1000 (ftuser); a host folder owned by root is not writable."""
    problems = []
    for sub in ("logs", "state"):
        folder = user_data_dir / sub
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            problems.append(
                f"cannot write to {folder} as uid {os.getuid()} ({exc.strerror}); on the host: "
                "sudo chown -R 1000:1000 user_data"
            )
    return problems


def load_config(paths: Sequence[str]) -> dict[str, Any]:
    """FreqTrade's config files merged in order (later files win), with its parse mode."""
    merged: dict[str, Any] = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            merged = _deep_merge(merged, rapidjson.load(handle, parse_mode=CONFIG_PARSE_MODE))
    return merged


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result


@dataclass(frozen=True)
class Deployment:
    """The facts the entrypoint acts on, resolved like FreqTrade resolves them:
    config files, then environment variables, then command-line options."""

    args: FreqtradeArgs
    config: dict[str, Any]
    dry_run: bool
    db_url: str | None
    user_data_dir: Path
    review_flag: Path | None


def resolve(args: FreqtradeArgs, env: Mapping[str, str], cwd: Path) -> tuple[Deployment, list[str]]:
    problems = file_problems([cwd / c for c in args.configs])
    if not args.configs:
        problems.append("no --config given")
    config: dict[str, Any] = {}
    if not problems:
        try:
            config = load_config([str(cwd / c) for c in args.configs])
        except (OSError, ValueError) as exc:
            problems.append(f"cannot read the config: {exc}")
    dry_run = args.dry_run or _truthy(env.get("FREQTRADE__DRY_RUN"), config.get("dry_run", True))
    db_url = args.db_url or env.get("FREQTRADE__DB_URL") or config.get("db_url")
    user_data = Path(
        args.user_data_dir
        or env.get("FREQTRADE__USER_DATA_DIR")
        or config.get("user_data_dir")
        or "user_data"
    )
    user_data = user_data if user_data.is_absolute() else cwd / user_data
    flag = None
    try:
        settings = parse_settings(config)
        flag = settings.review_flag_path(user_data, dry_run=dry_run)
    except SettingsError as exc:
        problems.append(str(exc))
    return Deployment(args, config, dry_run, db_url, user_data, flag), problems


def _truthy(value: str | None, default: Any) -> bool:
    if value is None:
        return bool(default)
    return value.strip().lower() in ("1", "t", "true", "yes")


def preflight(deployment: Deployment, env: Mapping[str, str], cwd: Path) -> list[str]:
    problems = secret_problems(env, live=not deployment.dry_run)
    problems += db_problems(deployment.db_url, cwd, deployment.user_data_dir)
    problems += writable_problems(deployment.user_data_dir)
    return problems


# ---------------------------------------------------------------------------- recovery


@dataclass(frozen=True)
class RecoveryOutcome:
    exit_code: int | None  # None when it did not finish
    timed_out: bool = False
    missing: bool = False

    @property
    def failure(self) -> str | None:
        """Why the bot starts without a reconciled state, or None when recovery succeeded."""
        if self.missing:
            return f"state recovery script {RECOVERY_SCRIPT} is missing from the image"
        if self.timed_out:
            return "state recovery did not finish in time and was stopped"
        if self.exit_code != 0:
            return f"state recovery failed with exit code {self.exit_code}"
        return None


class _StoppedError(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run_recovery(configs: Sequence[str], timeout_s: float, cwd: Path) -> RecoveryOutcome:
    """Run the recovery script; a SIGTERM/SIGINT meanwhile (docker stop) stops it and us."""
    script = cwd / RECOVERY_SCRIPT
    if not script.is_file():
        return RecoveryOutcome(exit_code=None, missing=True)
    command = [sys.executable, str(script)]
    for config in configs:
        command += ["--config", config]
    process = subprocess.Popen(command, cwd=cwd)

    def forward(signum: int, _frame: Any) -> None:
        process.send_signal(signum)
        raise _StoppedError(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return RecoveryOutcome(exit_code=process.wait(timeout=timeout_s))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return RecoveryOutcome(exit_code=None, timed_out=True)
    except _StoppedError as stop:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        raise SystemExit(128 + stop.signum) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def recovery_timeout(env: Mapping[str, str]) -> float:
    raw = env.get(RECOVERY_TIMEOUT_VAR, "")
    if not raw:
        return DEFAULT_RECOVERY_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{RECOVERY_TIMEOUT_VAR}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError(f"{RECOVERY_TIMEOUT_VAR} must be > 0, got {raw}")
    return value


# -------------------------------------------------------------------------------- main


def emit(category: Category | None, message: str, logfile: Path | None) -> None:
    """One line in FreqTrade's log format, to stdout (docker logs; config.json's log_config sends
    FreqTrade's own lines there too) and to the bot's log file, so `grep "\\[SAFETY\\]"` and the
    daily check find entrypoint events like the bot's own."""
    level = "WARNING" if category is Category.SAFETY else "INFO"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    text = format_line(category, None, message) if category is not None else message
    line = f"{stamp} - statarb.entrypoint - {level} - {text}"
    print(line, flush=True)
    if logfile is not None:
        try:
            logfile.parent.mkdir(parents=True, exist_ok=True)
            with logfile.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError:
            pass  # an unwritable user_data is a preflight problem; stdout has the line


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    cwd = Path.cwd()
    args = parse_freqtrade_args(args_list)
    if args.command is None:
        print("entrypoint: usage: entrypoint.py <freqtrade command> [options]", file=sys.stderr)
        return EX_CONFIG
    logfile = Path(args.logfile) if args.logfile else None
    if logfile is not None and not logfile.is_absolute():
        logfile = cwd / logfile
    if args.command == "trade" and not prepare_trade(args, env, cwd, logfile):
        return EX_CONFIG
    emit(None, "exec freqtrade " + " ".join(args_list), logfile)
    sys.stdout.flush()
    os.execvp("freqtrade", ["freqtrade", *args_list])
    return 0  # not reached: exec replaces this process


PAIRS_SEED = Path("pairs_config.json")  # the read-only mount, relative to /freqtrade
PAIRS_VAR = "FREQTRADE__STATARB__PAIRS_CONFIG"


def seed_pairs_file(env: Mapping[str, str], cwd: Path) -> str | None:
    """First start: copy the shipped pairs config to where the re-scan keeps the live one."""
    target = env.get(PAIRS_VAR)
    if not target:
        return None
    live = Path(target) if Path(target).is_absolute() else cwd / target
    seed = cwd / PAIRS_SEED
    if live.exists() or not seed.is_file():
        return None
    atomic_write_bytes(live, seed.read_bytes())
    return f"seeded {live} from {seed} (the re-scan service replaces it from now on)"


def prepare_trade(
    args: FreqtradeArgs, env: Mapping[str, str], cwd: Path, logfile: Path | None
) -> bool:
    """Preflight and recovery before `freqtrade trade`; False means: do not start."""
    deployment, problems = resolve(args, env, cwd)
    problems += preflight(deployment, env, cwd)
    timeout_s = DEFAULT_RECOVERY_TIMEOUT_S
    try:
        timeout_s = recovery_timeout(env)
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        for problem in problems:
            emit(Category.SAFETY, f"refusing to start: {problem}", logfile)
        return False
    seeded = seed_pairs_file(env, cwd)
    if seeded:
        emit(None, seeded, logfile)
    emit(None, f"running {RECOVERY_SCRIPT} (at most {timeout_s:.0f} s)", logfile)
    failure = run_recovery(args.configs, timeout_s, cwd).failure
    if failure is None:
        emit(None, "state recovery done", logfile)
        return True
    if deployment.review_flag is not None:
        ManualReviewFlag(deployment.review_flag).raise_flag(
            source="entrypoint", message=f"{failure}; the bot started without a reconciled state"
        )
    emit(
        Category.SAFETY,
        f"{failure}: starting without a reconciled state; manual review flag raised, "
        "no new spreads until it is acknowledged",
        logfile,
    )
    return True
