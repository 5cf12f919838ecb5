"""What a knowledge base puts in scope by itself: lexicon terms and synonyms that its entries
use as words of their own are set aside for it."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.lexicon import Lexicon
from bot.core.segment import Segmenter
from bot.core.text import normalize


@dataclass(frozen=True)
class Fitted:
    """A lexicon fitted to one knowledge base, and what was set aside for it."""

    lexicon: Lexicon
    terms: tuple[tuple[str, str], ...] = ()
    """Out-of-scope terms an entry uses: (term, id of the first entry using it)."""
    synonyms: tuple[tuple[str, str, str], ...] = ()
    """Synonyms an entry uses as a word of its own: (variant, canonical, entry id)."""


_SENTENCE_END = re.compile(r"[。！？!?；;\n]+")
_REFERRAL = re.compile(r"没有?(?:讲|说|提|列|写|介绍)|未(?:提及|说明|列出|介绍)|\d{5}")
"""A sentence that says what the source does not tell, or gives a hotline (12333): its words
are what the entry does NOT answer."""


def answer_sentences(entry: Entry) -> list[str]:
    """The sentences of an entry's answer and steps that say something, not where to ask."""
    return [
        sentence
        for text in (entry.answer, *entry.steps)
        for sentence in map(str.strip, _SENTENCE_END.split(text))
        if sentence and not _REFERRAL.search(sentence)
    ]


def entry_texts(entry: Entry) -> tuple[str, ...]:
    """Everything an entry says: title, phrasings, and what its answer and steps tell."""
    return (entry.title, *entry.questions, *entry.learned, *answer_sentences(entry))


def entry_words(segmenter: Segmenter, entry: Entry) -> frozenset[str]:
    """The words an entry uses as written (no synonym rewritten)."""
    return frozenset(
        token for text in entry_texts(entry) for token in segmenter.raw_words(normalize(text))
    )


def fit(lexicon: Lexicon, kb: KnowledgeBase, segmenter: Segmenter) -> Fitted:
    """*lexicon* without the out-of-scope terms that entries use, and without the synonyms
    whose variant an entry uses while the canonical word is out of scope (账户 -> 个人账户
    would turn a new entry's own word into an out-of-scope one). Set-aside
    words stay whole for the segmenter."""
    used = [(entry.id, entry_words(segmenter, entry)) for entry in kb.entries]
    terms: dict[str, str] = {}
    for entry_id, words in used:
        for term in sorted(lexicon.out_of_scope & words):
            terms.setdefault(term, entry_id)
    out_of_scope = lexicon.out_of_scope - terms.keys()
    synonyms: dict[str, tuple[str, str]] = {}
    for entry_id, words in used:
        for variant in sorted(lexicon.synonyms.keys() & words):
            canonical = lexicon.synonyms[variant]
            if canonical in out_of_scope:
                synonyms.setdefault(variant, (canonical, entry_id))
    if not terms and not synonyms:
        return Fitted(lexicon)
    kept = dict.fromkeys((*terms, *synonyms))
    fitted = replace(
        lexicon,
        words={**lexicon.words, **{word: None for word in kept if word not in lexicon.words}},
        synonyms={v: c for v, c in lexicon.synonyms.items() if v not in synonyms},
        out_of_scope=out_of_scope,
        in_scope_with={t: w for t, w in lexicon.in_scope_with.items() if t in out_of_scope},
    )
    return Fitted(
        fitted,
        tuple(terms.items()),
        tuple((variant, *found) for variant, found in synonyms.items()),
    )
