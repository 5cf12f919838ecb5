"""What an admin should know about a valid knowledge base: thin entries, lexicon words its
entries use, synonyms that change answers, phrasings another entry would take."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.core.calibration import Calibration
from bot.core.decision import Kind, Thresholds, decide
from bot.core.knowledge import ADVISED_QUESTIONS, Problem
from bot.core.lexicon import GENERIC_TERMS, LEXICON_DIR, terms_file
from bot.core.matcher import Matcher

ADVICE = (
    "add phrasings people really type: a colloquial one (…咋办、咋整), a bare keyword or two, "
    "and the way an older person would ask (我老了不会弄手机，…)"
)


def _line_of(path: Path, word: str) -> int:
    """The first line of *path* that holds *word* (1 if none does)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeError):
        return 1
    return next((number for number, line in enumerate(lines, 1) if word in line), 1)


def review(matcher: Matcher, calibration: Calibration, thresholds: Thresholds) -> list[Problem]:
    """Warnings, each located as ``file:line``; none of them stops the bot."""
    kb = matcher.kb
    lexicon_dir = kb.directory / LEXICON_DIR
    notes: list[Problem] = []
    locations = {entry.id: entry.location.rsplit(":", 1) for entry in kb.entries}

    def at(entry_id: str) -> tuple[str, int]:
        file, line = locations[entry_id]
        return file, int(line)

    for entry in kb.entries:
        if len(entry.questions) < ADVISED_QUESTIONS:
            message = (
                f"entry {entry.id!r} has {len(entry.questions)} phrasings; "
                f"{ADVISED_QUESTIONS} or more answer more questions: {ADVICE}"
            )
            notes.append(Problem(*at(entry.id), message))
    terms = terms_file(kb.directory)
    # The bot's generic words (no file of the folder's own) are set aside without a word.
    for term, entry_id in matcher.fitted.terms if terms != GENERIC_TERMS else ():
        message = (
            f"out-of-scope term {term!r} is a word of entry {entry_id!r} "
            f"({':'.join(locations[entry_id])}), so it is in scope here; remove it from the list"
        )
        notes.append(Problem(str(terms), _line_of(terms, term), message))
    synonyms = lexicon_dir / "synonyms.yaml"
    for variant, canonical, entry_id in matcher.fitted.synonyms:
        message = (
            f"synonym {variant!r} -> {canonical!r} is set aside: entry {entry_id!r} uses "
            f"{variant!r} and {canonical!r} is out of scope"
        )
        notes.append(Problem(str(synonyms), _line_of(synonyms, variant), message))
    notes += _changed_by_synonyms(matcher, thresholds, synonyms)
    for trial in calibration.collisions:
        assert trial.expect is not None and trial.got is not None
        message = (
            f"entry {trial.expect!r}: its phrasing {trial.text!r} would be answered by entry "
            f"{trial.got!r} ({trial.score:.2f}); make it more specific, or move it there"
        )
        notes.append(Problem(*at(trial.expect), message))
    for example in kb.declined:
        decision = decide(example.text, *matcher.rank(example.text), thresholds)
        if decision.kind is Kind.ANSWER and decision.entry is not None:
            file, line = example.location.rsplit(":", 1)
            message = (
                f"question to decline {example.text!r} is still answered by entry "
                f"{decision.entry.id!r} (it matches better, or uses every word asked about); "
                "if that entry does answer it, remove it from this file"
            )
            notes.append(Problem(file, int(line), message))
    return notes


def _changed_by_synonyms(
    matcher: Matcher, thresholds: Thresholds, synonyms_file: Path
) -> list[Problem]:
    """Synonyms whose rewriting makes another entry win for one of the KB's own phrasings."""
    lexicon = matcher.lexicon
    if not lexicon.synonyms:
        return []
    plain = Matcher(matcher.kb, replace(lexicon, synonyms={}, phrases={}), matcher.weights)
    loose = replace(thresholds, answer=0.0, margin=0.0, vague=0)
    blamed: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for entry in matcher.kb.entries:
        for text in entry.questions:
            with_synonyms = decide(text, *matcher.rank(text, leave_out=True), loose)
            if with_synonyms.kind is not Kind.ANSWER or with_synonyms.entry is None:
                continue
            got = with_synonyms.entry.id
            if got == entry.id:
                continue
            without = decide(text, *plain.rank(text, leave_out=True), loose)
            if without.entry is None or without.entry.id != entry.id:
                continue
            for word in matcher.segmenter.raw_words(with_synonyms.analysis.normalized):
                canonical = lexicon.synonyms.get(word)
                if canonical is not None:
                    blamed.setdefault((word, canonical), []).append((text, entry.id, got))
    notes = []
    for (variant, canonical), cases in blamed.items():
        text, own, got = cases[0]
        message = (
            f"synonym {variant!r} -> {canonical!r} makes entry {got!r} win for {text!r}, a "
            f"phrasing of {own!r} (and {len(cases) - 1} more); check that they mean the same"
        )
        notes.append(Problem(str(synonyms_file), _line_of(synonyms_file, variant), message))
    return notes
