"""Posting lists: which rows of a table hold each key, summed over all rows in one numpy call."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import cast

import numpy as np
from numpy.typing import NDArray


class Postings:
    """For each key, the rows that hold it (a row holds a key at most once), and the key's
    weight, the same in every row."""

    def __init__(
        self, rows: Sequence[Iterable[str]], weight: Callable[[str], float] | None = None
    ) -> None:
        lists: dict[str, list[int]] = defaultdict(list)
        for row, keys in enumerate(rows):
            for key in keys:
                lists[key].append(row)
        self.size = len(rows)
        self._rows = {key: np.asarray(held, dtype=np.intp) for key, held in lists.items()}
        self._weights = (
            {key: np.full(len(held), weight(key)) for key, held in lists.items()}
            if weight is not None
            else None
        )
        """Each key's weight, repeated for its rows (without *weight*: every key weighs 1)."""

    def frequency(self, key: str) -> int:
        """How many rows hold *key*."""
        held = self._rows.get(key)
        return 0 if held is None else len(held)

    def sums(self, keys: Iterable[str]) -> NDArray[np.float64]:
        """Per row, the summed weight of the *keys* (distinct) that it holds."""
        found = [key for key in keys if key in self._rows]
        if not found:
            return np.zeros(self.size)
        rows = np.concatenate([self._rows[key] for key in found])
        if self._weights is None:
            return np.bincount(rows, minlength=self.size).astype(np.float64)
        weights = np.concatenate([self._weights[key] for key in found])
        return cast("NDArray[np.float64]", np.bincount(rows, weights=weights, minlength=self.size))

    def counts(self, keys: Iterable[str]) -> NDArray[np.intp]:
        """Per row, how many of *keys* (distinct) it holds."""
        found = [self._rows[key] for key in keys if key in self._rows]
        if not found:
            return np.zeros(self.size, dtype=np.intp)
        return np.bincount(np.concatenate(found), minlength=self.size)
