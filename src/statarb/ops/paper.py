"""Paper trading: `freqtrade trade` in dry-run on the production config and the pairs file.

`scripts/paper.py` builds the config, writes it atomically to `user_data/config.paper.json` and
starts FreqTrade on it. What decides trading (strategy settings, order types, FreqAI) is the
production `config.json`'s; what differs is forced here and nowhere else:

- `dry_run: true` — in the config and as `--dry-run` on FreqTrade's command line (the command
  line wins over the environment); a `FREQTRADE__DRY_RUN` or an extra `--config` that could
  turn it off is refused: this never trades real money;
- the whitelist and FreqAI's `include_corr_pairlist` are every leg of the pairs file, which
  must not be empty (an empty file is the shipped one: scan first);
- its own trade database (`paper_trading.db`) and log file, so paper trades never mix with
  live ones;
- no secret from the user: the API server listens on 127.0.0.1 with a username, password, JWT
  key and ws token generated for this run (printed once), or is off (FreqTrade's schema wants
  the secrets even then, so they are generated either way).

With a local exchange (`statarb.exchange`) the exchange URLs point at it, so a generated market
can be paper-traded end to end with no access to Binance.
"""

from __future__ import annotations

import argparse
import copy
import os
import secrets
import shlex
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from statarb.atomic import atomic_write_json
from statarb.backtest.config import DEFAULT_BASE_CONFIG, REPO_ROOT, load_base_config
from statarb.exchange.client_config import freqtrade_exchange_config
from statarb.exchange.launcher import free_port, start_local_exchange
from statarb.pairs_config import PairsConfigError, load_pairs_config
from statarb.runner.processes import freqtrade_executable
from statarb.settings import parse_settings

PAPER_CONFIG_NAME = "config.paper.json"
PAPER_DB_NAME = "paper_trading.db"
PAPER_LOG = Path("logs") / "freqtrade.paper.log"  # relative to user_data
STRATEGY = "CointPairsStrategy"
STRATEGY_PATH = REPO_ROOT / "user_data" / "strategies"
API_USERNAME = "paper"
SCAN_HINT = (
    "./run scripts/scan_pairs.py --datadir user_data/data --timeframe {timeframe} --output {path}"
)
TRUE_WORDS = ("true", "1", "yes", "on")
API_ENV_PREFIX = "FREQTRADE__API_SERVER__"


class PaperError(ValueError):
    """Paper trading cannot start as asked; the message says why and what to do."""


@dataclass(frozen=True)
class ApiAccess:
    url: str
    username: str
    password: str


@dataclass(frozen=True)
class PaperConfig:
    config: dict[str, Any]
    legs: tuple[str, ...]
    api: ApiAccess | None


def pairs_path_of(base: Mapping[str, Any], cwd: Path) -> Path:
    """The pairs file the production config names (`statarb.pairs_config`), as the bot would
    open it from `cwd`."""
    name = base.get("statarb", {}).get("pairs_config") or "pairs_config.json"
    path = Path(name)
    return path if path.is_absolute() else cwd / path


def pairs_legs(pairs_path: Path, timeframe: str) -> tuple[str, ...]:
    """Every leg of the pairs file, in file order, each once; an empty file is an error."""
    try:
        pairs = load_pairs_config(pairs_path)
    except PairsConfigError as exc:
        raise PaperError(str(exc)) from None
    hint = SCAN_HINT.format(timeframe=timeframe, path=_shown(pairs_path))
    if not pairs.pairs:
        raise PaperError(
            f"{pairs_path} has no pairs: there is nothing to paper-trade. Scan first: {hint}"
        )
    if pairs.timeframe and pairs.timeframe != timeframe:
        raise PaperError(
            f"{pairs_path} was scanned on {pairs.timeframe} candles but the config trades "
            f"{timeframe} candles: re-scan on {timeframe} ({hint})"
        )
    legs: list[str] = []
    for entry in pairs.pairs:
        for leg in (entry.leg_a, entry.leg_b):
            if leg not in legs:
                legs.append(leg)
    return tuple(legs)


def _shown(path: Path) -> str:
    """`path` relative to the working folder when it is inside it (as a user would type it)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def paper_config(
    base: Mapping[str, Any],
    *,
    pairs_path: Path,
    user_data_dir: Path,
    wallet_usdt: float | None = None,
    api: bool = True,
    api_port: int | None = None,
    exchange_section: Mapping[str, Any] | None = None,
    freqai: bool = True,
) -> PaperConfig:
    """The dry-run FreqTrade config; `exchange_section` replaces the exchange's connection
    (a local exchange), keeping the whitelist this builds."""
    config = copy.deepcopy(dict(base))
    config.pop("$schema", None)
    timeframe = str(config.get("timeframe", "1m"))
    legs = pairs_legs(pairs_path, timeframe)
    config["dry_run"] = True
    if wallet_usdt is not None:
        if wallet_usdt <= 0:
            raise PaperError(f"the paper wallet must be positive, got {wallet_usdt}")
        config["dry_run_wallet"] = wallet_usdt
    config["user_data_dir"] = str(user_data_dir)
    config["strategy"] = STRATEGY
    config["strategy_path"] = str(STRATEGY_PATH)
    config["db_url"] = f"sqlite:///{user_data_dir / PAPER_DB_NAME}"
    exchange = dict(exchange_section or config.get("exchange", {}))
    exchange.update({"pair_whitelist": list(legs), "pair_blacklist": []})
    if exchange_section is None:
        exchange.update({"key": "", "secret": ""})  # dry-run needs no keys: none are written
    config["exchange"] = exchange
    config["pairlists"] = [{"method": "StaticPairList"}]
    statarb = dict(config.get("statarb", {}))
    statarb["pairs_config"] = str(pairs_path)
    statarb.pop("pairs_schedule", None)
    config["statarb"] = statarb
    section = copy.deepcopy(config.get("freqai", {}))
    if not freqai and parse_settings(config).model_gate:
        raise PaperError("the config's model_gate needs FreqAI: drop --no-freqai")
    section["enabled"] = bool(freqai and section.get("enabled", True))
    features = section.setdefault("feature_parameters", {})
    features["include_corr_pairlist"] = list(legs)
    features["include_timeframes"] = [timeframe]
    # Paper models in their own folder: never mixed with the live bot's.
    section["identifier"] = f"{section.get('identifier', 'statarb')}-paper"
    config["freqai"] = section
    config.setdefault("telegram", {})["enabled"] = False
    server = dict(config.get("api_server", {}))
    # The schema insists on the secrets even when no server runs: generated for every run.
    server.update(
        {
            "enabled": api,
            "listen_ip_address": "127.0.0.1",
            "username": API_USERNAME,
            "password": secrets.token_urlsafe(18),
            "jwt_secret_key": secrets.token_hex(32),
            "ws_token": secrets.token_urlsafe(18),
        }
    )
    if api_port is not None:
        server["listen_port"] = api_port
    server.setdefault("listen_port", 8080)
    config["api_server"] = server
    access = (
        ApiAccess(f"http://127.0.0.1:{server['listen_port']}", API_USERNAME, server["password"])
        if api
        else None
    )
    return PaperConfig(config, legs, access)


def refuse_live_overrides(environ: Mapping[str, str], extra_args: Sequence[str]) -> None:
    """Nothing may turn dry-run off or point the paper bot at another database."""
    dry = environ.get("FREQTRADE__DRY_RUN")
    if dry is not None and dry.strip().lower() not in TRUE_WORDS:
        raise PaperError(
            f"FREQTRADE__DRY_RUN={dry!r} is set: paper trading never trades real money. "
            "Unset it (live trading is `freqtrade trade --config config.json`)."
        )
    if "FREQTRADE__DB_URL" in environ:
        raise PaperError(
            "FREQTRADE__DB_URL is set: it would put paper trades into that database. Unset it."
        )
    for arg in extra_args:
        name = arg.split("=", 1)[0]
        if name in ("-c", "--config", "--db-url") or (arg.startswith("-c") and len(arg) > 2):
            raise PaperError(
                f"{arg!r} is not allowed: paper trading runs on the one config it builds "
                "(it could turn dry-run off or share the live database)"
            )


def bot_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """FreqTrade's environment without `FREQTRADE__API_SERVER__*`: those would override the
    secrets generated for this run (the ones printed and written)."""
    return {k: v for k, v in environ.items() if not k.startswith(API_ENV_PREFIX)}


def freqtrade_command(
    freqtrade: str, config_path: Path, user_data_dir: Path, extra_args: Sequence[str] = ()
) -> list[str]:
    return [
        freqtrade,
        "trade",
        "--config",
        str(config_path),
        "--strategy",
        STRATEGY,
        "--dry-run",
        "--logfile",
        str(user_data_dir / PAPER_LOG),
        *extra_args,
    ]


# ------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paper.py",
        description="Paper-trade (FreqTrade dry-run) the pairs file with the production config.",
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_BASE_CONFIG, help="base config")
    parser.add_argument("--pairs-config", type=Path, help="default: the config's pairs_config")
    parser.add_argument("--user-data", type=Path, default=Path("user_data"))
    parser.add_argument("--wallet", type=float, help="dry_run_wallet in USDT")
    parser.add_argument("--api-port", type=int, help="default: the config's (8080)")
    parser.add_argument("--no-api", action="store_true", help="no REST API server")
    parser.add_argument(
        "--no-freqai", action="store_true", help="FreqAI off (only with model_gate false)"
    )
    parser.add_argument(
        "--local-exchange",
        type=Path,
        metavar="DATADIR",
        help="start the local exchange on this market folder and trade against it",
    )
    parser.add_argument("--live-hours", type=float, default=6.0, help="local exchange")
    parser.add_argument(
        "--dry",
        "--print-config",
        action="store_true",
        help="write the config and print the command; start nothing",
    )
    parser.add_argument("freqtrade_args", nargs="*", help="after --: more `freqtrade trade` args")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    environ = os.environ if environ is None else environ
    cwd = Path.cwd()
    user_data = (args.user_data if args.user_data.is_absolute() else cwd / args.user_data).resolve()
    exchange_port = free_port() if args.local_exchange else None
    try:
        refuse_live_overrides(environ, args.freqtrade_args)
        base = load_base_config(args.config)
        pairs_path = args.pairs_config or pairs_path_of(base, cwd)
        built = paper_config(
            base,
            pairs_path=pairs_path.resolve(),
            user_data_dir=user_data,
            wallet_usdt=args.wallet,
            api=not args.no_api,
            api_port=args.api_port,
            exchange_section=(
                freqtrade_exchange_config(f"http://127.0.0.1:{exchange_port}")
                if exchange_port
                else None
            ),
            freqai=not args.no_freqai,
        )
    except (PaperError, ValueError) as exc:
        print(f"paper: {exc}", file=sys.stderr)
        return 2
    config_path = user_data / PAPER_CONFIG_NAME
    for sub in ("logs", "state", "data"):
        (user_data / sub).mkdir(parents=True, exist_ok=True)
    atomic_write_json(config_path, built.config)  # mkstemp: readable by this user only
    command = freqtrade_command(freqtrade_executable(), config_path, user_data, args.freqtrade_args)
    print(f"paper trading (dry-run, wallet {built.config.get('dry_run_wallet')} USDT) on "
          f"{len(built.legs)} legs: {', '.join(built.legs)}")  # fmt: skip
    print(f"config: {config_path}; log: {user_data / PAPER_LOG}")
    paper_flag = parse_settings(built.config).review_flag_path(user_data, dry_run=True)
    print(
        f"manual review (its own flag, {_shown(paper_flag)}): ./run scripts/review.py status "
        f"--config {_shown(config_path)}"
    )
    if built.api is not None:
        print(
            f"REST API {built.api.url} username {built.api.username} password "
            f"{built.api.password} (generated for this run)"
        )
        print(
            f"check it: {API_ENV_PREFIX}USERNAME={built.api.username} "
            f"{API_ENV_PREFIX}PASSWORD={built.api.password} ./run scripts/daily_check.py "
            f"--api-url {built.api.url} --user-data {_shown(user_data)} "
            f"--logfile {_shown(user_data / PAPER_LOG)} --review-flag {_shown(paper_flag)}"
        )
    if args.dry:
        if exchange_port:
            print(
                "$ ./run scripts/local_exchange.py --datadir "
                f"{args.local_exchange} --port {exchange_port} --live-hours {args.live_hours}"
            )
        print("$ " + shlex.join(command))
        return 0
    sys.stdout.flush()
    if exchange_port is None:
        # FreqTrade replaces this process (and gets its signals)
        os.execve(command[0], command, bot_environment(environ))
    return _run_with_local_exchange(
        command, args.local_exchange, exchange_port, user_data, args, bot_environment(environ)
    )


def _run_with_local_exchange(
    command: list[str],
    datadir: Path,
    port: int,
    user_data: Path,
    args: argparse.Namespace,
    env: dict[str, str],
) -> int:
    """The exchange and the bot as children; a signal to this process reaches the bot, and the
    exchange stops after it."""
    exchange = start_local_exchange(
        datadir,
        log_path=user_data / "logs" / "local_exchange.paper.log",
        port=port,
        extra_args=("--live-hours", str(args.live_hours)),
    )
    print(f"local exchange {exchange.url} on {datadir} (log {exchange.log_path})", flush=True)
    children: list[subprocess.Popen[bytes]] = []
    forwarded: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        # Once: FreqTrade's clean-up is interrupted by a second signal, and with its API
        # server thread still running it then never exits.
        if forwarded:
            return
        forwarded.append(signum)
        for child in children:
            child.send_signal(signum)

    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, forward)
        # Its own session: a Ctrl-C in the terminal (SIGINT to the whole foreground group) or
        # a `timeout`/service manager signalling the group reaches the bot once, through here,
        # not twice.
        children.append(subprocess.Popen(command, env=env, start_new_session=True))
        code = children[0].wait()
    finally:
        exchange.stop()
    return code if code >= 0 else 128 - code
