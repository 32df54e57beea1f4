"""The image's Python packages: what goes on top of the FreqTrade image, and proof it matches.

The tests run on the exact versions pinned in pyproject.toml (money-deciding packages) and
constraints.txt (the rest). The official FreqTrade image brings its own versions of most of
them; whatever differs from our pins is re-installed at our pin, and the build fails if any
pinned package then still differs — the image runs what the tests ran, or it does not build.

Standard library only: the Dockerfile runs this file before the package is installed
(`python src/statarb/ops/pins.py install-list pyproject.toml`).
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

BASE_IMAGE_PACKAGE = "freqtrade"  # provided by the base image, pinned by its tag
_PINNED = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^;\s]+)$")


class PinError(ValueError):
    """A runtime dependency is not pinned exactly."""


@dataclass(frozen=True)
class Pin:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def runtime_pins(pyproject: Path) -> list[Pin]:
    """Every `[project].dependencies` entry; each must be `name==version`."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    pins = []
    for requirement in project.get("dependencies", []):
        match = _PINNED.match(requirement.strip())
        if match is None:
            raise PinError(f"{requirement!r} in {pyproject} is not pinned as name==version")
        pins.append(Pin(match["name"], match["version"]))
    return pins


def install_list(pyproject: Path) -> list[str]:
    """What pip installs on top of the base image (FreqTrade itself comes with the image)."""
    return [str(p) for p in runtime_pins(pyproject) if _norm(p.name) != BASE_IMAGE_PACKAGE]


def mismatches(pyproject: Path, installed: Callable[[str], str | None]) -> list[str]:
    """Pinned packages whose installed version differs (FreqTrade included: the tag's promise)."""
    problems = []
    for pin in runtime_pins(pyproject):
        found = installed(pin.name)
        if found != pin.version:
            problems.append(f"{pin.name}: installed {found or 'nothing'}, pinned {pin.version}")
    return problems


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] not in ("install-list", "verify"):
        print("usage: pins.py install-list|verify PYPROJECT", file=sys.stderr)
        return 2
    pyproject = Path(args[1])
    try:
        if args[0] == "install-list":
            print("\n".join(install_list(pyproject)))
            return 0
        problems = mismatches(pyproject, installed_version)
    except (OSError, KeyError, PinError, tomllib.TOMLDecodeError) as exc:
        print(f"pins: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"pins: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
