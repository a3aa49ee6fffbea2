"""The deploy files say what the README says, and what can be checked without a server is."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((ROOT / "deploy" / "khabar.service").read_text("utf-8"))
    return parser


def test_the_systemd_unit_restarts_on_failure_as_its_own_user(tmp_path: Path) -> None:
    service = unit()["Service"]
    assert service["Restart"] == "on-failure" and service["User"] == "khabar"
    assert service["ExecStart"].endswith("khabar bot")
    assert "/srv/khabar/data" in service["ReadWritePaths"]
    assert int(service["TimeoutStopSec"]) > 30  # the bot stops within 30 s of SIGTERM
    assert "network-online.target" in unit()["Unit"]["After"]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    # systemd's own check, with the checkout's paths moved under a folder that exists.
    home = tmp_path / "srv" / "khabar"
    (home / ".venv" / "bin").mkdir(parents=True)
    program = home / ".venv" / "bin" / "khabar"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    text = (ROOT / "deploy" / "khabar.service").read_text("utf-8")
    (tmp_path / "khabar.service").write_text(text.replace("/srv/khabar", str(home)), "utf-8")
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / "khabar.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "khabar.service" in line and "User" not in line  # no khabar user on this machine
    ]
    assert problems == [], problems


def test_the_image_is_built_to_start_offline() -> None:
    lines = (ROOT / "Dockerfile").read_text("utf-8").splitlines()
    runs = [line for line in lines if line.startswith("RUN ")]
    torch = next(i for i, line in enumerate(runs) if "torch==2.13.0" in line)
    project = next(i for i, line in enumerate(runs) if "-c requirements.lock" in line)
    prepare = next(i for i, line in enumerate(runs) if "khabar prepare" in line)
    assert torch < project < prepare  # CPU torch first; the models made at build time
    assert any(line.startswith("USER khabar") for line in lines)
    assert any("/healthz" in line for line in lines)
    copied = {line.split()[1] for line in lines if line.startswith("COPY ") and "--" not in line}
    assert {"index", "bot", "khabar"} <= copied


def test_compose_runs_the_bot_and_optionally_postgres() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))
    bot, pg = compose["services"]["khabar"], compose["services"]["postgres"]
    assert bot["restart"] == "on-failure" and bot["build"] == "."
    assert "pgvector" in pg["image"] and pg["profiles"] == ["pg"]
    assert set(compose["volumes"]) == {"khabar-data", "khabar-pg"}


def test_nginx_proxies_only_the_webhook_path() -> None:
    text = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    assert "location = /telegram" in text and "proxy_pass http://127.0.0.1:8443/telegram" in text
    assert "return 404" in text
