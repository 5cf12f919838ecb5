"""The deployment files (Dockerfile, compose files, Caddyfile, systemd unit) agree with the code.

No Docker engine runs where the tests run, so the files are parsed and cross-checked here; CI
(`.ci/run`) builds the image wherever `docker info` works.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings, read_env_file
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
SETTINGS = set(read_env_file(ROOT / ".env.example"))
"""Every variable .env.example documents."""


def _compose(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n\s*", " ", text)
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _volumes(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path of a service's bind mounts and volumes."""
    pairs = (str(volume).split(":")[:2] for volume in service.get("volumes", []))
    return {target: source for source, target in pairs}


def test_the_image_installs_the_package_and_runs_unprivileged_with_two_volumes() -> None:
    steps = _dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    for kind, arguments in steps:
        if kind == "COPY":
            sources = [part for part in arguments.split()[:-1] if not part.startswith("--")]
            assert all((ROOT / source).exists() for source in sources), arguments
    users = [arguments for kind, arguments in steps if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    volumes = next(arguments for kind, arguments in steps if kind == "VOLUME")
    assert set(re.findall(r'"([^"]+)"', volumes)) == {"/app/knowledge", "/app/data"}
    env = dict(re.findall(r"(\w+)=(\S+)", next(a for k, a in steps if k == "ENV")))
    assert env["BOT_KNOWLEDGE_DIR"] == "/app/knowledge"
    assert env["BOT_DATABASE"].startswith("/app/data/")
    assert {key for key in env if key.startswith("BOT_")} <= SETTINGS
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    entrypoint = next(arguments for kind, arguments in steps if kind == "ENTRYPOINT")
    assert entrypoint == f'["{next(iter(scripts))}"]'
    # The token never goes into an image, nor do the installation's data.
    ignored = (ROOT / ".dockerignore").read_text("utf-8").split()
    assert {".env", "data", "knowledge/learned.yaml", ".git", ".venv"} <= set(ignored)


def test_compose_runs_the_image_with_env_and_the_checkout_folders() -> None:
    bot = _compose("compose.yaml")["services"]["bot"]
    assert bot["build"] == "." and bot["env_file"] == ".env"
    assert _volumes(bot) == {"/app/knowledge": "./knowledge", "/app/data": "./data"}
    assert bot["environment"] == {
        "BOT_KNOWLEDGE_DIR": "/app/knowledge",
        "BOT_DATABASE": "/app/data/esscard.sqlite3",
    }
    assert bot["user"] == "${ESSCARD_UID:-1000}:${ESSCARD_GID:-1000}"
    assert {"ESSCARD_UID", "ESSCARD_GID"} <= SETTINGS
    useradd = next(a for k, a in _dockerfile() if k == "RUN" and "useradd" in a)
    assert "--uid 1000 " in useradd  # the image's own user is compose's default


def test_the_webhook_override_puts_caddy_in_front_of_the_bots_webhook_port() -> None:
    override = _compose("deploy/compose.webhook.yaml")
    bot, caddy = override["services"]["bot"], override["services"]["caddy"]
    assert {key for key in bot["environment"] if key.startswith("BOT_")} <= SETTINGS
    assert bot["environment"]["BOT_WEBHOOK_LISTEN"] == "0.0.0.0"  # reachable from caddy
    port = bot["environment"]["BOT_WEBHOOK_PORT"]
    assert bot["expose"] == [port]
    assert caddy["environment"]["ESSCARD_UPSTREAM"] == f"bot:{port}"
    assert "ESSCARD_DOMAIN" in SETTINGS
    assert sorted(caddy["ports"]) == ["443:443", "80:80"]
    mounts = _volumes(caddy)
    assert (ROOT / mounts["/etc/caddy/Caddyfile"]).is_file()
    assert set(override["volumes"]) == {mounts["/data"], mounts["/config"]}


def test_the_caddyfile_passes_the_webhook_path_to_the_bots_default_address() -> None:
    text = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    defaults = Settings(token="")
    assert "{$ESSCARD_DOMAIN} {" in text
    assert "handle /telegram/* {" in text
    upstream = re.search(r"reverse_proxy \{\$ESSCARD_UPSTREAM:([\d.]+):(\d+)\}", text)
    assert upstream is not None
    assert upstream.groups() == (defaults.webhook_listen, str(defaults.webhook_port))
    assert text.count("{") == text.count("}")


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "esscard-bot.service", encoding="utf-8")
    return unit


def test_the_systemd_unit_starts_the_venvs_bot_in_its_checkout() -> None:
    unit = _unit()
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    home = service["WorkingDirectory"]
    assert service["ExecStart"] == f"{home}/.venv/bin/esscard-bot run"  # where make puts it
    assert set(service["ReadWritePaths"].split()) == {f"{home}/data", f"{home}/knowledge"}
    assert service["User"] != "root" and service["ProtectSystem"] == "strict"
    # Exit code 2 is a wrong setting (bot.cli, bot.tg.runner): restarting cannot fix it.
    assert service["RestartPreventExitStatus"] == "2" and service["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_itself_accepts_the_unit(tmp_path: Path) -> None:
    """Unknown keys and bad values are warnings for systemd; none may appear."""
    text = (DEPLOY / "esscard-bot.service").read_text(encoding="utf-8")
    service = _unit()["Service"]
    text = text.replace(service["ExecStart"].split()[0], str(Path(sys.executable).resolve()))
    copy = tmp_path / "esscard-bot.service"
    copy.write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_make_run_installs_the_runtime_only_and_make_test_the_dev_tools(tmp_path: Path) -> None:
    def planned(target: str) -> list[str]:
        result = subprocess.run(
            ["make", "--dry-run", "-C", str(ROOT), target, f"VENV={tmp_path / 'venv'}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return [line for line in result.stdout.splitlines() if "pip install" in line]

    for target in ("run", "chat", "demo"):
        assert planned(target)[-1].endswith("pip install --quiet -e ."), target
    for target in ("test", "lint", "bench", "images"):
        assert planned(target)[-1].endswith("pip install --quiet -e '.[dev]'"), target
