"""Tokenising normalised Chinese text: jieba with the domain words, synonyms and typo repair."""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from functools import cache, cached_property
from importlib.util import find_spec
from itertools import accumulate, product
from pathlib import Path

import jieba
from jieba import finalseg

from bot.core import wordcut
from bot.core.lexicon import Lexicon
from bot.core.text import HAN

_LATIN = re.compile(r"[a-z]+")

READINGS_PER_CHAR = 2
"""Rare readings of a character cause false repairs; the two most common ones suffice."""
MIN_REPAIR_CHARS = 2
COMMON_WORD_FREQ = 100
"""A jieba word at least this frequent is a real word, not a typo (公伤 3, 事业 10025)."""
COMMON_CHAR_FREQ = 50_000
"""A character this frequent on its own (了, 能, 去) is no trace of a typo; 两 (43,011) may be."""
MAX_MERGE_TOKENS = 3
ASIDE_CUES = frozenset({"不是", "不问", "不用", "而不是", "并不是"})
"""A clause starting with one of these sets its words aside: "不是问公积金，是问社保"."""
NOT_ASIDE_AFTER = frozenset({"说", "吗", "吧", "呢"})
"""...unless it goes on with one of these: "不是说二代卡要停用吗" asks about what follows."""
MAX_SPELLED_TOKENS = 6
"""A domain word typed in pinyin may come in up to this many pieces (dian zi she bao ka)."""
MAX_HALF_SPELLED = 2
"""A domain word may have up to this many characters typed in pinyin among the others."""
MAX_PAIRS_KEPT = 100_000
"""Character pairs whose sounds typo repair remembers (a few MB); then it starts again."""
MIN_INITIALS_CHARS = 3
"""Initials of shorter words (sb, bk) are too ambiguous to read as a word."""
QUESTION_CHARS = frozenset("什么啥怎咋哪几吗呢")
"""A word holding one of these asks something (干什么, 咋整): never a typo repair's target."""


MIN_WORD_FREQ = 5
"""jieba's dictionary without the words its corpus saw fewer than 5 times: 137,000 of 349,000
words, loaded in 0.4 s instead of 1 s (start to first answer), with the same accuracy on
``tests/data`` within one question either way."""


@cache
def _jieba() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer(_trimmed_dictionary())
    tokenizer.initialize()
    return tokenizer


def _trimmed_dictionary() -> str | None:
    """The path of jieba's dictionary without its rarest words, written once to the temporary
    folder (beside jieba's own cache); None (jieba's full dictionary) if that fails."""
    source = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
    try:
        size = source.stat().st_size
        target = Path(tempfile.gettempdir()) / f"esscard-bot-jieba-{size}-{MIN_WORD_FREQ}.txt"
        if not target.is_file():
            kept = [
                line
                for line in source.read_text(encoding="utf-8").splitlines(keepends=True)
                if len(parts := line.split()) > 1 and int(parts[1]) >= MIN_WORD_FREQ
            ]
            partial = target.with_name(f"{target.name}.{os.getpid()}.part")
            partial.write_text("".join(kept), encoding="utf-8")
            os.replace(partial, target)
    except (OSError, ValueError, UnicodeError) as error:
        logging.getLogger(__name__).warning("Using jieba's full dictionary: %s", error)
        return None
    return str(target)


def _join_longest(
    tokens: list[str], widest: int, narrowest: int, word_for: Callable[[list[str]], str | None]
) -> list[str]:
    """*tokens* with runs of *narrowest* to *widest* of them that *word_for* names a word
    replaced by it, the widest first, from the left."""
    joined: list[str] = []
    i = 0
    while i < len(tokens):
        for width in range(min(widest, len(tokens) - i), narrowest - 1, -1):
            word = word_for(tokens[i : i + width])
            if word is not None:
                joined.append(word)
                i += width
                break
        else:
            joined.append(tokens[i])
            i += 1
    return joined


class _Readings:
    """Toneless pinyin readings of CJK characters, from pypinyin's own table, worked out for
    a character the first time it is asked about (the whole table takes a quarter second).

    Only the single-character table is read: importing pypinyin would also load its phrase
    table (about 50 MB of memory) that typo repair does not need.
    """

    def __init__(self, raw: dict[str, str]) -> None:
        self._raw = raw
        self._done: dict[str, tuple[str, ...]] = {}

    def __contains__(self, char: str) -> bool:
        return str(ord(char)) in self._raw if len(char) == 1 else False

    def get(self, char: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The readings of *char*, most common first (at most ``READINGS_PER_CHAR``)."""
        done = self._done.get(char)
        if done is not None:
            return done
        value = self._raw.get(str(ord(char))) if len(char) == 1 else None
        if value is None:
            return default
        toneless = dict.fromkeys(_strip_tone(reading) for reading in value.split(","))
        readings = self._done[char] = tuple(toneless)[:READINGS_PER_CHAR]
        return readings

    def __getitem__(self, char: str) -> tuple[str, ...]:
        if char not in self:
            raise KeyError(char)
        return self.get(char)


@cache
def _readings() -> _Readings:
    """The readings table (empty without pypinyin)."""
    spec = find_spec("pypinyin")
    if spec is None or not spec.submodule_search_locations:
        return _Readings({})
    table = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.json"
    return _Readings(json.loads(table.read_text(encoding="utf-8")))


def _strip_tone(reading: str) -> str:
    decomposed = unicodedata.normalize("NFD", reading)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class _Dictionary:
    """jieba's dictionary is process-wide: one lexicon's words are in it at a time, and
    switching takes the previous lexicon's changes back first, so that segmentation never
    depends on which knowledge bases a process loaded before (a reload, tests)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.active: Lexicon | None = None
        self._saved: dict[str, int | None] = {}
        self._total = 0
        self._forced: set[str] = set()

    def activate(self, lexicon: Lexicon) -> None:
        """Make *lexicon*'s words the ones added to jieba's dictionary (hold ``lock``)."""
        if self.active is lexicon:
            return
        tokenizer = _jieba()
        self._undo(tokenizer)
        self._total = tokenizer.total
        forced = finalseg.Force_Split_Words
        added = dict(lexicon.words)
        for word in lexicon.vocabulary:
            added.setdefault(word, None)
        for word, freq in added.items():
            for end in range(1, len(word) + 1):
                self._saved.setdefault(word[:end], tokenizer.FREQ.get(word[:end]))
            if freq == 0 and word not in forced:
                self._forced.add(word)
            tokenizer.add_word(word, freq)
        self.active = lexicon

    def _undo(self, tokenizer: jieba.Tokenizer) -> None:
        for key, freq in self._saved.items():
            if freq is None:
                tokenizer.FREQ.pop(key, None)
            else:
                tokenizer.FREQ[key] = freq
        if self._saved:
            tokenizer.total = self._total
        finalseg.Force_Split_Words.difference_update(self._forced)
        self._saved, self._forced = {}, set()


_DICTIONARY = _Dictionary()


class Segmenter:
    """Turns normalised text into canonical content tokens for one lexicon."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._tokenizer = _jieba()
        self._domain_words = lexicon.vocabulary | {
            lexicon.canonical(w) for w in lexicon.vocabulary
        }
        self._spelled = self._pinyin_index(self._domain_words)
        repairable = self._repairable(self._domain_words)
        self._repairable_words = repairable
        self._lengths = sorted({len(word) for word in repairable}, reverse=True)
        self._repair_chars = frozenset("".join(repairable))
        readings = _readings()
        self._sounds = {word: tuple(frozenset(readings[ch]) for ch in word) for word in repairable}
        self._sound_lengths: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._by_sound: dict[tuple[str, str, int], list[str]] = defaultdict(list)
        """The repairable words by how their first two characters may sound, and length."""
        for word in sorted(repairable):
            for first in readings[word[0]]:
                for second in readings[word[1]]:
                    self._by_sound[first, second, len(word)].append(word)
                    self._sound_lengths[first, second].add(len(word))
        self._starts: dict[str, tuple[list[tuple[str, str]], list[int]]] = {}
        """Two characters -> how they may sound, and the lengths of the repairable words that
        may start so (worked out once per pair seen)."""
        self._prefixes = frozenset(
            word[:end]
            for word in self._domain_words | lexicon.synonyms.keys()
            for end in range(1, len(word))
        )
        """What a domain word or variant starts with: where ``_merge`` looks for one."""

    @property
    def domain_words(self) -> frozenset[str]:
        """The lexicon's words, variants and canonical forms."""
        return self._domain_words

    def _pinyin_index(self, words: frozenset[str]) -> dict[str, str]:
        """Domain words typed in pinyin: whole (shebaoka, zenme) or, from three characters
        on, by initials (dzsbk, syj); a spelling two different words share is left out."""
        readings = _readings()
        spelled: dict[str, str] = {}
        clashes: set[str] = set()
        for word in sorted(words):
            if len(word) < MIN_REPAIR_CHARS or not all(ch in readings for ch in word):
                continue
            syllables = [readings[ch][0] for ch in word]
            forms = ["".join(syllables)]
            if len(word) >= MIN_INITIALS_CHARS:
                forms.append("".join(syllable[0] for syllable in syllables))
            canonical = self.lexicon.canonical(word)
            for form in forms:
                if form in self.lexicon.synonyms or form in words:
                    continue  # an English word or a known spelling comes first
                if spelled.setdefault(form, canonical) != canonical:
                    clashes.add(form)
        return {form: word for form, word in spelled.items() if form not in clashes}

    @staticmethod
    def _repairable(words: frozenset[str]) -> frozenset[str]:
        """The domain words a typo may be repaired to (never a question word like 干什么)."""
        readings = _readings()
        return frozenset(
            word
            for word in words
            if len(word) >= MIN_REPAIR_CHARS
            and all(ch in readings for ch in word)
            and not QUESTION_CHARS.intersection(word)
        )

    def _is_word(self, text: str) -> bool:
        """Whether *text* is a common word: as a single character, a very common one."""
        frequency: int = self._tokenizer.FREQ.get(text, 0)
        return frequency >= (COMMON_CHAR_FREQ if len(text) == 1 else COMMON_WORD_FREQ)

    def _cut(self, text: str) -> list[str]:
        """jieba's words of *text*, without its HMM guesses at unknown words: those cost a
        third of the cut and, over ten question sets, gained as many questions as they lost."""
        return wordcut.cut(self._tokenizer, text)

    def repair(self, text: str) -> str:
        """Replace homophone typos of domain words (设保卡 -> 社保卡, 失叶金 -> 失业金)."""
        with _DICTIONARY.lock:
            _DICTIONARY.activate(self.lexicon)
            return "".join(self._repaired(self._cut(text)))

    def _repaired(self, raw: list[str]) -> list[str]:
        """*raw* tokens with typos repaired; a domain word is replaced whole or not at all."""
        if not self._by_sound:
            return raw
        # A typo leaves a rare token behind (社报, 失叶金; not 吗), so spans need one of those;
        # and a repair keeps at least half of a word's characters, so spans need that many known.
        odd = [
            not (
                token in self._domain_words
                or token in self.lexicon.stopwords
                or self._is_word(token)
            )
            for token in raw
        ]
        if not any(odd):
            return raw
        text = "".join(raw)
        size, reach = len(text), self._lengths[0]
        known = list(accumulate((char in self._repair_chars for char in text), initial=0))
        owner = [number for number, token in enumerate(raw) for _ in token]  # of each char
        offsets = list(accumulate(map(len, raw), initial=0))
        odd_before = list(accumulate(odd, initial=0))
        kept = [token in self._domain_words for token in raw]

        def holds_odd(i: int, j: int) -> bool:
            return odd_before[owner[j - 1] + 1] != odd_before[owner[i]]

        out: list[str] = []
        spans: list[tuple[int, int]] = []
        done, stop = 0, -1
        # Only a span holding a rare token may be a typo, and no span holds a space (no word
        # does): look from *reach* before each rare token, up to the next space. A span starts
        # and ends at the edges of a domain word it touches, and is not all domain words.
        for i in range(size - 1):
            if stop < i:
                stop = text.find(" ", i) % (size + 1)
            first = owner[i]
            if (
                i < done
                or stop <= i
                or not holds_odd(i, min(i + reach, stop))
                or (kept[first] and offsets[first] != i)
            ):
                continue
            keys, present = self._sound_starts(text[i : i + 2])
            lengths = [
                length
                for length in reversed(present)
                if (j := i + length) <= stop
                and 2 * (known[j] - known[i]) >= length
                and holds_odd(i, j)
                and not all(kept[first : (last := owner[j - 1]) + 1])
                and not (kept[last] and offsets[last + 1] != j)
            ]
            word = self._sound_alike(text, i, keys, lengths) if lengths else None
            if word:
                out += (text[done:i], word)
                done = i + len(word)
                spans.append((i, done))
        return self._recut(raw, "".join(out) + text[done:], spans) if out else raw

    @cached_property
    def _half_spelled(self) -> dict[tuple[str, str, str], str]:
        """(characters before, pinyin, characters after) -> the domain word they spell, for
        words with one or two characters typed in pinyin (dian + 子社保卡, 支付 + bao, shi +
        业金); a spelling two different words share is left out. Built when first needed."""
        readings = _readings()
        found: dict[tuple[str, str, str], str] = {}
        clashes: set[tuple[str, str, str]] = set()
        for word in sorted(self._repairable_words):
            canonical = self.lexicon.canonical(word)
            for size in range(1, min(MAX_HALF_SPELLED, len(word) - 1) + 1):
                for start in range(len(word) - size + 1):
                    end = start + size
                    for syllables in product(*(readings[ch] for ch in word[start:end])):
                        key = (word[:start], "".join(syllables), word[end:])
                        if self.lexicon.canonical(found.setdefault(key, word)) != canonical:
                            clashes.add(key)
        return {key: word for key, word in found.items() if key not in clashes}

    @cached_property
    def _half_spellings(self) -> frozenset[str]:
        """The pinyin parts of ``_half_spelled``: a run of letters that is none is no word."""
        return frozenset(spelled for _, spelled, _ in self._half_spelled)

    def _read_half_spelled(self, text: str) -> str:
        """*text* with domain words typed part in pinyin written in characters (dian子社保卡 ->
        电子社保卡); pinyin between spaces (a word typed whole) is left to ``_spelled``."""
        index, spellings = self._half_spelled, self._half_spellings
        reach = self._lengths[0] if self._lengths else 0
        out: list[str] = []
        done = 0
        for match in _LATIN.finditer(text):
            start, end = match.span()
            beside = text[start - 1 : start] + text[end : end + 1]
            if start < done or match[0] not in spellings or not HAN.search(beside):
                continue
            best: tuple[int, int, str] | None = None
            for before in range(min(start - done, reach) + 1):
                left = text[start - before : start]
                for after in range(reach - before + 1):
                    if end + after > len(text):
                        break
                    word = index.get((left, match[0], text[end : end + after]))
                    if word and (best is None or len(word) > len(best[2])):
                        best = (start - before, end + after, word)
            if best:
                out += (text[done : best[0]], best[2])
                done = best[1]
        return "".join(out) + text[done:] if out else text

    def _sound_starts(self, pair: str) -> tuple[list[tuple[str, str]], list[int]]:
        """How the two characters *pair* may sound, and the lengths of the repairable words
        whose first two characters may sound so."""
        found = self._starts.get(pair)
        if found is None:
            if len(self._starts) >= MAX_PAIRS_KEPT:
                self._starts.clear()
            readings = _readings()
            keys = [(a, b) for a in readings.get(pair[0]) for b in readings.get(pair[1])]
            present = {n for key in keys for n in self._sound_lengths.get(key, ())}
            found = self._starts[pair] = (keys, sorted(present))
        return found

    def _recut(self, raw: list[str], repaired: str, spans: list[tuple[int, int]]) -> list[str]:
        """The tokens of *repaired* (as long as the text of *raw*): each run of tokens that
        overlaps a repaired span is cut again on its own, the rest kept. Cutting the whole
        clause again gives the same tokens for every labelled question, in twice the time."""
        tokens: list[str] = []
        start = run = 0
        spans = [*spans, (len(repaired) + 1, len(repaired) + 1)]
        span = 0
        for token in raw:
            end = start + len(token)
            while spans[span][1] <= start:
                span += 1
            if spans[span][0] >= end:  # untouched
                if run < start:
                    tokens += self._cut(repaired[run:start])
                tokens.append(token)
                run = end
            start = end
        if run < start:
            tokens += self._cut(repaired[run:start])
        return tokens

    def tokens(self, normalized: str, *, repair: bool = True) -> list[str]:
        """Content tokens of *normalized* text, synonyms rewritten, stopwords dropped."""
        return self._content(self._raw(normalized, repair=repair))

    def read(self, normalized: str) -> tuple[list[str], frozenset[str]]:
        """A question's content tokens, and those of its clauses that set something aside
        ("不是问电子身份证", "不用个税app"): what the question is not about."""
        raw = self._raw(normalized, repair=True)
        aside: list[str] = []
        setting_aside = False
        for number, token in enumerate(raw):
            if token.isspace():
                setting_aside = False
            elif number == 0 or raw[number - 1].isspace():
                following = raw[number + 1] if number + 1 < len(raw) else ""
                setting_aside = token in ASIDE_CUES and following not in NOT_ASIDE_AFTER
            elif setting_aside:
                aside.append(token)
        return self._content(raw), frozenset(self._content(aside))

    def raw_words(self, normalized: str) -> list[str]:
        """The words of *normalized* text as written: no synonym rewritten, no typo repaired,
        no stopword dropped."""
        return [token for token in self._raw(normalized, repair=False) if not token.isspace()]

    def _raw(self, normalized: str, *, repair: bool) -> list[str]:
        with _DICTIONARY.lock:
            _DICTIONARY.activate(self.lexicon)
            text = self.lexicon.rewrite_phrases(normalized)
            if repair and _LATIN.search(text):
                text = self._read_half_spelled(text)
            raw = self._cut(text)
            return self._repaired(raw) if repair else raw

    def _content(self, raw: list[str]) -> list[str]:
        stopwords = self.lexicon.stopwords
        canonical = [
            self.lexicon.canonical(token)
            for token in self._read_spelled([t for t in raw if not t.isspace()])
            if token not in stopwords
        ]
        return [token for token in self._merge(canonical) if token not in stopwords]

    def _read_spelled(self, tokens: list[str]) -> list[str]:
        """*tokens* with domain words typed in pinyin read, also when their syllables are
        typed apart (wang dai, disandai shebaoka)."""
        if not any(token.isascii() for token in tokens):
            return tokens

        def spelled(parts: list[str]) -> str | None:
            return self._spelled.get("".join(parts)) if all(p.isascii() for p in parts) else None

        return _join_longest(tokens, MAX_SPELLED_TOKENS, 1, spelled)

    def _sound_alike(
        self, text: str, start: int, keys: list[tuple[str, str]], lengths: list[int]
    ) -> str | None:
        """The longest domain word, of one of *lengths*, that *text* from *start* mistypes
        (*keys*: how its first two characters may sound): at least half of its characters
        exactly, one of them not a very common one (能亮 is no 能量), the rest homophones; the
        word with most exact characters wins. A span that is itself a domain or common word
        mistypes nothing."""
        readings = _readings()
        for length in lengths:
            span = text[start : start + length]
            if span in self._domain_words or self._is_word(span):
                continue
            best: tuple[int, str] | None = None
            for key in keys:
                for word in self._by_sound.get((*key, length), ()):
                    exact = sum(map(str.__eq__, span, word))
                    if 2 * exact < length or (best and (-best[0], best[1]) <= (-exact, word)):
                        continue
                    if all(
                        a == b or not sounds.isdisjoint(readings.get(a))
                        for a, b, sounds in zip(span, word, self._sounds[word], strict=True)
                    ) and any(
                        a == b and not self._is_word(a) for a, b in zip(span, word, strict=True)
                    ):
                        best = (exact, word)
            if best:
                return best[1]
        return None

    def _merge(self, tokens: list[str]) -> list[str]:
        """Join neighbours that spell a domain word (电子 + 社保卡 -> 电子社保卡)."""

        def domain_word(parts: list[str]) -> str | None:
            if parts[0] not in self._prefixes:
                return None
            word = self.lexicon.canonical("".join(parts))
            return word if word in self._domain_words else None

        return _join_longest(tokens, MAX_MERGE_TOKENS, 2, domain_word)
