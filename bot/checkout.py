"""What only a source checkout (a git clone) has beside the ``bot`` package.

The local fake Bot API (``tests/fakebotapi``) and the benchmark (``benchmarks/``) are not
installed with the package: ``esscard-bot demo`` and ``esscard-bot bench`` import them from the
checkout the package was loaded from (an editable install, or ``python -m bot`` in a clone).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

CHECKOUT = Path(__file__).resolve().parent.parent
"""The folder of the ``bot`` package: in a checkout, also ``tests/`` and ``benchmarks/``."""


class NotInCheckout(ImportError):
    """The checkout around the package does not have what was asked for (an installed package
    alone has neither ``tests/`` nor ``benchmarks/``)."""


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(CHECKOUT), env.get("PYTHONPATH", "")) if part
    )
    env.update(extra or {})
    return env


def from_checkout(name: str) -> ModuleType:
    """The module *name* (``tests.fakebotapi``, ``benchmarks.run``) of this checkout; an
    NotInCheckout saying so when the checkout does not have it."""
    parts = name.split(".")
    where = CHECKOUT.joinpath(*parts)
    if not ((where / "__init__.py").is_file() or where.with_suffix(".py").is_file()):
        raise NotInCheckout(f"{'/'.join(parts)} is not beside the bot package")
    top = sys.modules.get(parts[0])
    if top is not None and not _inside_checkout(top):
        _forget(parts[0])  # another package of that name (e.g. an installed "tests") came first
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    module = importlib.import_module(name)
    if not _inside_checkout(module):
        sys.path.remove(str(CHECKOUT))
        sys.path.insert(0, str(CHECKOUT))
        _forget(parts[0])
        module = importlib.import_module(name)
    return module


def fake_api() -> ModuleType:
    """``tests.fakebotapi`` of this checkout; ImportError saying why when it is missing."""
    return from_checkout("tests.fakebotapi")


def _inside_checkout(module: ModuleType) -> bool:
    """Whether *module* was loaded from a file of this checkout."""
    files = [getattr(module, "__file__", None), *getattr(module, "__path__", [])]
    return any(f and Path(f).resolve().is_relative_to(CHECKOUT) for f in files)


def _forget(package: str) -> None:
    """Drop *package* and its modules from the import cache."""
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
