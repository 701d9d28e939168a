"""The one chunking helper every IN (...) list goes through (credo.store.chunks)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credo.store.chunks import IN_LIST, chunks


@given(st.lists(st.integers(), max_size=60), st.integers(min_value=1, max_value=25))
def test_chunks_keep_every_value_in_order_and_only_the_last_is_short(values: list[int], size: int) -> None:
    parts = [list(part) for part in chunks(values, size)]
    assert [v for part in parts for v in part] == values
    assert all(len(part) == size for part in parts[:-1])
    assert all(0 < len(part) <= size for part in parts)


def test_the_default_size_is_one_in_list_and_a_size_below_one_is_refused() -> None:
    assert [len(part) for part in chunks(range(IN_LIST + 1))] == [IN_LIST, 1]
    with pytest.raises(ValueError, match="at least one"):
        list(chunks([1], 0))
