"""Personal data in a message never reaches the log of the real process, at DEBUG level too,
where python-telegram-bot logs whole updates (issue 12, item 6)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.core.test_privacy_variants import written_numbers
from tests.e2e.conftest import BotProcess, running_bot

USERS = itertools.count(9101)


@pytest.fixture(scope="module")
def debug_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    home = Path(tmp_path_factory.mktemp("debug-bot"))
    with running_bot(home, name="debug bot", log_level="DEBUG") as bot:
        yield bot


@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])
@given(number=written_numbers)
def test_numbers_however_written_stay_out_of_the_debug_log(
    debug_bot: BotProcess, number: tuple[str, str]
) -> None:
    _, written = number
    debug_bot.set_mark()
    *_, notice = debug_bot.ask(next(USERS), f"我的号码{written}，电子社保卡怎么领", count=3)
    assert notice["text"].startswith("提醒：请不要在聊天里发送")  # the answer, its picture, this
    log = debug_bot.log(since_mark=True)
    assert "Processing update" in log  # DEBUG: the whole update is logged...
    for form in (written, repr(written)[1:-1], json.dumps(written)[1:-1]):
        assert form not in log  # ...without the number, in any form it could take
