"""Known vulnerabilities in the locked dependencies (requirements.lock, plus torch).

    python bench/audit_deps.py [--lock requirements.lock]

1. `pip-audit -r LOCK --no-deps --disable-pip` (PyPI's advisory data, online). Where PyPI's JSON
   API or OSV cannot be reached (this workplace: only the package index mirror is), it says so.
2. Offline, always: every locked version checked against the advisory list shipped in the
   PyPI package `safety-db` (pip install safety-db; its newest release is from 2021-07, so
   this catches old advisories only; its date is printed with the result).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def locked(lock: Path) -> dict[str, str]:
    pins = {"torch": "2.13.0"}  # installed first, outside the lock (see the Makefile)
    for line in lock.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not name.startswith(("#", "-e")):
            pins[canonicalize_name(name)] = version.split(";")[0].strip()
    return pins


def pip_audit(lock: Path) -> str:
    exe = shutil.which("pip-audit")
    if exe is None:
        return "pip-audit is not installed (pip install pip-audit)"
    proc = subprocess.run(
        [exe, "-r", str(lock), "--no-deps", "--disable-pip", "--progress-spinner", "off"],
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    unreachable = out.count("could not be audited")
    if unreachable:
        return (
            f"pip-audit could not reach an advisory service for {unreachable} packages "
            "(PyPI's JSON API and OSV are not reachable from here)"
        )
    return out.strip() or f"pip-audit exited with {proc.returncode}"


def safety_db(pins: dict[str, str]) -> tuple[str, list[str]]:
    spec = importlib.util.find_spec("safety_db")  # not imported: its __init__ is broken
    if spec is None or not spec.submodule_search_locations:
        return "safety-db is not installed (pip install safety-db)", []
    from importlib.metadata import version

    folder = Path(next(iter(spec.submodule_search_locations)))
    data = json.loads((folder / "insecure_full.json").read_text())
    found = []
    for name, advisories in data.items():
        pinned = pins.get(canonicalize_name(name))
        if pinned is None or name == "$meta":
            continue
        for advisory in advisories:
            for spec in advisory.get("specs", []):
                if pinned in SpecifierSet(spec.replace(" ", ""), prereleases=True):
                    found.append(f"{name}=={pinned}: {advisory.get('id')} ({spec})")
                    break
    return f"safety-db {version('safety-db')}", found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=ROOT / "requirements.lock")
    args = parser.parse_args()
    pins = locked(args.lock)
    print(f"{len(pins)} locked packages")
    print("pip-audit:", pip_audit(args.lock))
    source, found = safety_db(pins)
    print(f"{source}: {len(found)} known vulnerabilities")
    for line in found:
        print("  ", line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
