"""The image's dependency locks stay in step with pyproject.toml (scripts/lock regenerates them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {
        canonicalize_name(name): version
        for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)
    }


def _hashed(lock: str) -> bool:
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", (ROOT / lock).read_text(encoding="utf-8").strip())
    return all("--hash=sha256:" in block for block in blocks)


def test_every_runtime_dependency_is_pinned_with_hashes_in_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins("requirements.lock")
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run scripts/lock"
        assert requirement.specifier.contains(pins[name]), (
            f"{name}=={pins[name]} breaks {requirement.specifier}"
        )
    assert _hashed("requirements.lock")


def test_the_build_backend_is_pinned_with_hashes() -> None:
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    pins = _pins("requirements-build.lock")
    for spec in backend:
        requirement = Requirement(spec)
        assert requirement.specifier.contains(pins[canonicalize_name(requirement.name)])
    assert _hashed("requirements-build.lock")
