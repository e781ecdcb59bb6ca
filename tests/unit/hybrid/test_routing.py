"""Routing advice: strong, consistent context goes local, anything less goes remote."""

from __future__ import annotations

import pytest
from ai_stack.hybrid.routing import Routing, RoutingThresholds, advise

DEFAULT = RoutingThresholds()


def test_strong_context_goes_local() -> None:
    routing = advise([0.71, 0.5, 0.4, 0.1], DEFAULT)
    assert routing.recommendation == "local" and 0.5 < routing.confidence < 1.0
    assert routing.reason == (
        "3 of 4 items score >= 0.35, the best 0.71: the context is strong enough for a local model."
    )


def test_no_context_goes_remote_with_full_confidence() -> None:
    routing = advise([], DEFAULT)
    assert routing == Routing("remote", 1.0, routing.reason) and "No context" in routing.reason


def test_weak_context_goes_remote() -> None:
    routing = advise([0.41, 0.4, 0.38], DEFAULT)
    assert routing.recommendation == "remote"
    assert routing.reason.startswith("3 of 3 items score >= 0.35, the best 0.41, below the 0.55")


def test_too_few_supporting_items_go_remote() -> None:
    routing = advise([0.9, 0.2], DEFAULT)
    assert routing.recommendation == "remote" and routing.confidence == pytest.approx(0.75)
    assert routing.reason.startswith(
        "1 of 2 items scores >= 0.35, the best 0.90, with 2 supporting items needed"
    )


def test_conflicting_context_goes_remote_whatever_the_scores() -> None:
    routing = advise([0.95, 0.9, 0.9], DEFAULT, conflicting=True)
    assert routing.recommendation == "remote" and routing.confidence == pytest.approx(0.75)
    assert "conflict" in routing.reason
    assert advise([0.1], DEFAULT, conflicting=True).confidence > 0.75


def test_thresholds_are_inclusive() -> None:
    routing = advise([0.55, 0.35], DEFAULT)
    assert routing.recommendation == "local" and routing.confidence == pytest.approx(0.5)


def test_local_confidence_grows_with_the_best_score() -> None:
    confidences = [advise([best, 0.5], DEFAULT).confidence for best in (0.55, 0.6, 0.7, 0.8, 0.9, 1.0)]
    assert confidences == sorted(confidences) and len(set(confidences)) == len(confidences)
    assert confidences[0] == pytest.approx(0.5) and confidences[-1] == pytest.approx(1.0)


def test_remote_confidence_falls_as_the_best_score_nears_strong() -> None:
    every_item_supports = RoutingThresholds(support_score=0.0)
    bests = (0.0, 0.1, 0.3, 0.5, 0.54)
    confidences = [advise([best, best], every_item_supports).confidence for best in bests]
    assert confidences == sorted(confidences, reverse=True) and len(set(confidences)) == len(confidences)
    assert confidences[0] == pytest.approx(1.0) and confidences[-1] > 0.5


def test_remote_confidence_falls_as_supporting_items_near_the_minimum() -> None:
    strict = RoutingThresholds(min_items=4)
    confidences = [advise([0.9] + [0.4] * k, strict).confidence for k in range(3)]
    assert confidences == sorted(confidences, reverse=True) and len(set(confidences)) == 3


def test_extreme_thresholds_stay_in_range() -> None:
    assert advise([1.0, 1.0], RoutingThresholds(strong_score=1.0)).confidence == pytest.approx(0.5)
    assert (
        advise([0.0, 0.0], RoutingThresholds(strong_score=0.0, support_score=0.0)).recommendation == "local"
    )


@pytest.mark.parametrize(
    "bad",
    [{"strong_score": 1.5}, {"support_score": -0.1}, {"min_items": 0}, {"conflict_gap": -1.0}],
)
def test_nonsense_thresholds(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RoutingThresholds(**bad)  # type: ignore[arg-type]
