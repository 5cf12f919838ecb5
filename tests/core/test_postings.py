from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bot.core.postings import Postings

KEYS = st.sampled_from("社保卡电子失业金工伤")
ROWS = st.lists(st.frozensets(KEYS, max_size=5), max_size=30)


@given(ROWS, st.frozensets(KEYS))
def test_sums_add_the_weight_of_every_key_a_row_holds(
    rows: list[frozenset[str]], query: frozenset[str]
) -> None:
    weight = {key: float(ord(key) % 7 + 1) for key in "社保卡电子失业金工伤"}
    postings = Postings(rows, weight.__getitem__)
    expected = [sum(weight[key] for key in query & row) for row in rows]
    np.testing.assert_allclose(postings.sums(query), expected)
    assert postings.counts(query).tolist() == [len(query & row) for row in rows]


def test_keys_no_row_holds_count_for_nothing() -> None:
    postings = Postings([{"社保卡"}, {"失业金", "社保卡"}])
    assert postings.sums({"养老金"}).tolist() == [0.0, 0.0]
    assert postings.counts({"养老金", "失业金"}).tolist() == [0, 1]
    assert postings.frequency("社保卡") == 2 and postings.frequency("养老金") == 0
