"""How a backfill cuts the learners of the log into chunks (one writer transaction
each): bounded in learners and, past one learner, in events."""

from __future__ import annotations

import pytest

from server.backfill import split_page


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        pytest.param([], [], id="empty"),
        pytest.param([("a", 1), ("b", 1), ("c", 1)], [["a", "b"], ["c"]], id="by-learners"),
        pytest.param([("a", 4), ("b", 6), ("c", 1)], [["a", "b"], ["c"]], id="by-events"),
        pytest.param([("a", 50), ("b", 1)], [["a"], ["b"]], id="one-big-learner-alone"),
    ],
)
def test_pages_are_split_by_learners_and_events(
    page: list[tuple[str, int]], expected: list[list[str]]
) -> None:
    assert list(split_page(page, max_learners=2, max_events=10)) == expected
