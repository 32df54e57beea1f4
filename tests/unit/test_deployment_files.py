"""The Dockerfile, the production compose file and the env example say what docs/design.md §4.3
and §6 ask: a pinned image, a non-root user, a health check, recovery before the bot, the API on
the host's loopback only, no secret in a committed file, state in the persistent volume."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from statarb.ops.entrypoint import API_SECRETS, EXCHANGE_SECRETS, PLACEHOLDER_PREFIX, db_problems
from statarb.ops.pins import PinError, install_list, installed_version, mismatches, runtime_pins

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.production.yml"
INSTALL_COMPOSE = (
    "command -v docker-compose || (apt-get update && apt-get install -y docker-compose)"
)
SECRET_WORDS = re.compile(r"KEY|SECRET|PASSWORD|TOKEN|USERNAME|CHAT_ID", re.IGNORECASE)


# ------------------------------------------------------------------------ Dockerfile


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += " " + stripped.removesuffix("\\").strip()
        if stripped.endswith("\\"):
            continue
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def only(keyword: str) -> str:
    (value,) = [rest for kw, rest in dockerfile() if kw == keyword]
    return value


def test_the_image_is_freqtrades_freqai_image_pinned_to_the_tested_release():
    image = only("FROM")
    freqtrade = next(p for p in runtime_pins(REPO / "pyproject.toml") if p.name == "freqtrade")
    assert image == f"freqtradeorg/freqtrade:{freqtrade.version}_freqai"
    assert not re.search(r":(stable|develop|latest)", image)


def test_the_image_runs_as_its_non_root_user_and_apt_runs_only_as_root():
    user = None
    for keyword, rest in dockerfile():
        if keyword == "USER":
            user = rest
        if keyword == "RUN" and "apt-get" in rest:
            assert user == "root", "apt-get in a RUN as non-root fails (docs/design.md §6.2)"
    assert user == "ftuser"


def test_the_health_check_pings_the_api_with_the_specs_timing():
    health = only("HEALTHCHECK")
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", health))
    assert options == {"interval": "60s", "timeout": "10s", "start-period": "2m", "retries": "5"}
    command = json.loads(health[health.index("CMD") + 3 :].strip())
    assert command == ["python", "-m", "statarb.ops.healthcheck"]


def test_the_entrypoint_is_the_recovery_entrypoint_and_cmd_starts_the_bot():
    entrypoint = json.loads(only("ENTRYPOINT"))
    assert entrypoint == ["python", "/freqtrade/scripts/entrypoint.py"]
    copies = [rest.split() for kw, rest in dockerfile() if kw == "COPY"]
    assert any(c[-2:] == ["scripts/", "/freqtrade/scripts/"] for c in copies)
    assert "statarb.ops.entrypoint" in (REPO / "scripts" / "entrypoint.py").read_text()
    cmd = json.loads(only("CMD"))
    assert cmd[0] == "trade"
    assert cmd[cmd.index("--logfile") + 1] == "/freqtrade/user_data/logs/freqtrade.log"


def test_everything_the_dockerfile_copies_exists_and_is_not_docker_ignored():
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for keyword, rest in dockerfile():
        if keyword != "COPY":
            continue
        sources = [s for s in shlex.split(rest)[:-1] if not s.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), source
            assert source.rstrip("/") in allowed, f"{source} is not allowed by .dockerignore"


def test_the_image_never_ships_secrets_state_or_test_data():
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "the .dockerignore must deny everything first (an allow-list)"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert allowed == {
        "pyproject.toml",
        "constraints.txt",
        "README.md",
        "src",
        "scripts",
        "user_data/strategies",
    }


def test_every_runtime_dependency_is_pinned_and_installed_as_pinned():
    names = [line.split("==")[0] for line in install_list(REPO / "pyproject.toml")]
    assert "statsmodels" in names and "freqtrade" not in names  # freqtrade comes with the image
    assert mismatches(REPO / "pyproject.toml", {"numpy": "2.4.6"}.get)  # the check can fail
    # This environment is the tested one: it must pass the image's own build check.
    assert mismatches(REPO / "pyproject.toml", installed_version) == []


def test_an_unpinned_dependency_fails_the_image_build(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["pandas>=3"]\n')
    with pytest.raises(PinError, match="not pinned"):
        runtime_pins(pyproject)


# ------------------------------------------------------------------------ compose


@pytest.fixture(scope="module")
def compose_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`docker-compose config` of the committed file with .env.example as the env file."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(f"docker-compose is not installed; CI installs it with: {INSTALL_COMPOSE}")
    folder = tmp_path_factory.mktemp("compose")
    shutil.copy(COMPOSE, folder / COMPOSE.name)
    shutil.copy(REPO / ".env.example", folder / ".env")
    result = subprocess.run(
        [binary, "-f", COMPOSE.name, "config"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]["freqtrade"]


def raw_service() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]["freqtrade"]


def seconds(text: str | int) -> float:
    if isinstance(text, int):
        return float(text)
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([hms])", text))


def test_compose_restarts_the_bot_and_gives_it_time_to_stop(compose_config: dict[str, Any]):
    assert compose_config["restart"] == "unless-stopped"
    assert compose_config["container_name"] == "freqtrade_bot"
    assert seconds(compose_config["stop_grace_period"]) == 30


def test_compose_health_check_matches_the_spec_and_the_image(compose_config: dict[str, Any]):
    health = compose_config["healthcheck"]
    assert health["test"] == ["CMD", "python", "-m", "statarb.ops.healthcheck"]
    assert seconds(health["interval"]) == 60
    assert seconds(health["timeout"]) == 10
    assert health["retries"] == 5
    assert seconds(health["start_period"]) == 120


def test_compose_limits_memory_and_rotates_docker_logs(compose_config: dict[str, Any]):
    limit = str(compose_config["mem_limit"]).upper()
    as_bytes = int(limit[:-1]) * 1024**2 if limit.endswith("M") else int(limit)
    assert as_bytes == 3500 * 1024**2
    assert compose_config["logging"] == {
        "driver": "json-file",
        "options": {"max-size": "50m", "max-file": "5"},
    }


def test_the_api_is_published_on_the_hosts_loopback_only(compose_config: dict[str, Any]):
    ports = compose_config["ports"]
    assert ports, "the API port must be published for the host's daily check and FreqUI"
    for port in ports:
        text = port if isinstance(port, str) else f"{port['host_ip']}:{port['published']}"
        assert text.startswith("127.0.0.1:"), f"{port} would open the API to the network"
    env = compose_config["environment"]
    # Inside the container it listens on all interfaces, or the mapping could not reach it.
    assert env["FREQTRADE__API_SERVER__LISTEN_IP_ADDRESS"] == "0.0.0.0"


def test_configs_are_mounted_read_only_and_user_data_persistent(compose_config: dict[str, Any]):
    mounts = {v["target"]: v for v in compose_config["volumes"]}
    for name in ("config.json", "pairs_config.json"):
        mount = mounts[f"/freqtrade/{name}"]
        assert mount["read_only"] is True
        assert Path(mount["source"]).name == name
    user_data = mounts["/freqtrade/user_data"]
    assert user_data["type"] == "bind" and not user_data.get("read_only")
    # ... and the trade database of config.json lands in that volume (docs/design.md §6.3).
    config = json.loads((REPO / "config.json").read_text())
    problems = db_problems(config["db_url"], Path(only("WORKDIR")), Path(user_data["target"]))
    assert problems == []


def test_compose_runs_the_images_entrypoint_and_command(compose_config: dict[str, Any]):
    # Overriding the entrypoint explicitly (docs/design.md §6.1); same as the image's, so
    # `docker run` and compose start the bot the same way.
    assert compose_config["entrypoint"] == json.loads(only("ENTRYPOINT"))
    assert compose_config["command"] == json.loads(only("CMD"))


def test_blas_threads_are_limited_for_the_two_core_vps(compose_config: dict[str, Any]):
    env = compose_config["environment"]
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert env[name] == "1"
    assert env["TZ"] == "UTC"


def test_secrets_come_from_the_git_ignored_env_file_only(compose_config: dict[str, Any]):
    raw = raw_service()
    assert raw["env_file"] == ".env"
    inline = [k for k in raw.get("environment", {}) if SECRET_WORDS.search(k)]
    assert inline == [], f"secret-like variables written in the compose file: {inline}"
    example = dict(
        line.split("=", 1)
        for line in (REPO / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name in API_SECRETS + EXCHANGE_SECRETS:
        assert example[name].startswith(PLACEHOLDER_PREFIX), f"{name}: not a placeholder"
        assert compose_config["environment"][name] == example[name]  # reached the container
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=REPO, check=False, timeout=30
    )
    assert ignored.returncode == 0, ".env must be git-ignored"
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", ".env"],
        cwd=REPO,
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert tracked.returncode != 0, ".env is committed"


def test_the_committed_config_holds_no_secret():
    config = json.loads((REPO / "config.json").read_text())
    assert config["exchange"]["key"] == "" and config["exchange"]["secret"] == ""
    api = config["api_server"]
    assert all(api[k] == "" for k in ("username", "password", "jwt_secret_key", "ws_token"))
    assert config["telegram"]["token"] == ""


def test_the_daily_rescan_replaces_the_pairs_file_the_bot_hot_reloads():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    bot, rescan = services["freqtrade"], services["rescan"]
    live_pairs = bot["environment"]["FREQTRADE__STATARB__PAIRS_CONFIG"]
    # Inside the mounted user_data folder: an atomic rename there is seen by the bot (a
    # single-file bind mount would keep the old inode).
    assert live_pairs.startswith("/freqtrade/user_data/")
    command = rescan["command"]
    assert command[command.index("--output") + 1] == live_pairs
    assert "--every-hours" in command and command[command.index("--every-hours") + 1] == "24"
    assert rescan["restart"] == "unless-stopped"
    assert all(
        mount["target"] != "/freqtrade/config.json" or mount["read_only"]
        for mount in rescan["volumes"]
    )
