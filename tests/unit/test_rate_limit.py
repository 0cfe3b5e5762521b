"""ClientRates: token buckets per client, on a fake clock."""

from __future__ import annotations

import pytest

from server.rate_limit import ClientRates


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_one_second_then_waits_in_proportion() -> None:
    clock = Clock()
    rates = ClientRates(1_000, clock)
    assert rates.reserve("a", 1_000) == 0.0  # a full bucket: one second's worth at once
    assert rates.reserve("a", 500) == pytest.approx(0.5)
    clock.now += 0.5
    assert rates.reserve("a", 100) == pytest.approx(0.1)  # paid the debt, owes 100 more


def test_clients_have_their_own_buckets() -> None:
    rates = ClientRates(100, Clock())
    assert rates.reserve("a", 200) == pytest.approx(1.0)
    assert rates.reserve("b", 100) == 0.0


def test_try_take_refuses_without_taking_and_says_when() -> None:
    clock = Clock()
    rates = ClientRates(100, clock)
    assert rates.try_take("a", 80) == 0.0
    assert rates.try_take("a", 50) == pytest.approx(0.3)  # 20 left, 30 more in 0.3 s
    assert rates.try_take("a", 50) == pytest.approx(0.3)  # the refusal took nothing
    clock.now += 0.3
    assert rates.try_take("a", 50) == 0.0


def test_a_batch_larger_than_the_burst_waits_for_a_full_bucket() -> None:
    clock = Clock()
    rates = ClientRates(100, clock)
    assert rates.try_take("a", 1) == 0.0
    assert rates.try_take("a", 1_000) == pytest.approx(0.01)
    clock.now += 0.01
    assert rates.try_take("a", 1_000) == 0.0  # then goes deep into debt
    assert rates.try_take("a", 1) == pytest.approx(9.01)


def test_a_refill_never_exceeds_one_second() -> None:
    clock = Clock()
    rates = ClientRates(10, clock)
    assert rates.reserve("a", 10) == 0.0
    clock.now += 3_600
    assert rates.reserve("a", 20) == pytest.approx(1.0)


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        ClientRates(0)
