"""Fixtures shared by every test: the shipped knowledge base and small ones made on the fly.

Tests never read what an admin changed in this working copy: they use a private copy of
``knowledge/`` without ``learned.yaml`` (what /teach added), and neither the checkout's
``.env`` nor ``BOT_*`` / ``TELEGRAM_*`` variables reach them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

import bot.config
from bot.core.faq import Faq
from bot.core.knowledge import LEARNED_FILE

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_KNOWLEDGE = ROOT / "knowledge"
DATA = Path(__file__).resolve().parent / "data"


def _shipped_copy() -> Path:
    """``knowledge/`` as shipped: copied once per test session, without taught phrasings."""
    folder = Path(tempfile.mkdtemp(prefix="esscard-tests-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = folder / "knowledge"
    ignore = shutil.ignore_patterns(LEARNED_FILE, ".learned-*.tmp")
    shutil.copytree(SHIPPED_KNOWLEDGE, target, ignore=ignore)
    return target


KNOWLEDGE = _shipped_copy()
"""What every test reads as the shipped knowledge base (never change it: use ``kb_copy``)."""
_READ_ENV_FILE = bot.config.read_env_file

# Property tests: modest and without deadlines locally; fixed examples in CI, so that a red build
# can be reproduced. HYPOTHESIS_PROFILE=dev|ci chooses explicitly.
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("ci", settings.get_profile("dev"), derandomize=True, database=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)

ENTRY_TEMPLATE = """\
  - id: {id}
    title: {title}
    category: {category}
    questions: [{questions}]
    answer: {answer}
    related: [{related}]
"""


@pytest.fixture(autouse=True)
def _no_local_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's settings (``.env`` of the checkout, the environment) stay out."""
    for key in list(os.environ):
        if key.startswith(("TELEGRAM_", "BOT_")):
            monkeypatch.delenv(key)

    def read_env_file(path: Path) -> dict[str, str]:
        return {} if path.resolve() == ROOT / ".env" else _READ_ENV_FILE(path)

    monkeypatch.setattr(bot.config, "read_env_file", read_env_file)


@pytest.fixture(scope="session", autouse=True)
def _config_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A config folder of the test session's own, so that no test (nor a bot process it
    starts) makes a hash key in the developer's ~/.config."""
    folder = tmp_path_factory.mktemp("config-home")
    previous = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["XDG_CONFIG_HOME"]
    else:
        os.environ["XDG_CONFIG_HOME"] = previous


@pytest.fixture(scope="session")
def faq() -> Faq:
    """The shipped knowledge base, loaded once."""
    return Faq(KNOWLEDGE)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped knowledge base that a test may break."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


def entry_yaml(
    entry_id: str,
    *,
    title: str | None = None,
    category: str = "测试",
    questions: list[str] | None = None,
    answer: str = "这是答案。",
    related: list[str] | None = None,
) -> str:
    """One entry in YAML, with eight distinct questions unless given."""
    questions = questions or [f"{entry_id} 问法{i}" for i in range(8)]
    return ENTRY_TEMPLATE.format(
        id=entry_id,
        title=title or f"标题{entry_id}",
        category=category,
        questions=", ".join(questions),
        answer=answer,
        related=", ".join(related or []),
    )


@pytest.fixture
def write_kb(tmp_path: Path) -> Callable[..., Path]:
    """Write ``{file name: YAML text}`` into a fresh knowledge folder and return it."""

    def write(files: dict[str, str]) -> Path:
        folder = tmp_path / "kb"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return folder

    return write


SOURCE = """\
source:
  outlet: 测试日报
  date: 2021-11-30
"""
