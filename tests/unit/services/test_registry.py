"""The rollback target: the version an alias held before, replayed from its audit trail."""

from __future__ import annotations

import pytest

from mloop.entities import AliasAction, AliasEvent
from mloop.errors import Conflict
from mloop.services.registry import rollback_target


def trail(*moves: tuple[str, int | None]) -> list[AliasEvent]:
    """Alias events of ``champion`` from (action, to_version) pairs, oldest first."""
    events = []
    held: int | None = None
    for index, (action, to_version) in enumerate(moves):
        events.append(
            AliasEvent(
                index,
                "churn",
                "champion",
                held,
                to_version,
                AliasAction(action),
                "",
                "tester",
                index,
            )
        )
        held = to_version
    return events


@pytest.mark.parametrize(
    ("moves", "target"),
    [
        ((("set", 1), ("set", 2)), 1),
        ((("set", 1), ("set", 2), ("set", 3)), 2),
        ((("set", 1), ("set", 2), ("set", 2)), 1),
        ((("set", 3), ("set", 1)), 3),
        ((("set", 1), ("set", 2), ("set", 1)), 2),
    ],
)
def test_sets_roll_back_to_the_previous_distinct_version(
    moves: tuple[tuple[str, int], ...], target: int
) -> None:
    assert rollback_target(trail(*moves)) == target


def test_repeated_rollbacks_walk_further_back() -> None:
    moves: list[tuple[str, int | None]] = [("set", 1), ("set", 2), ("set", 3)]
    assert rollback_target(trail(*moves)) == 2
    moves.append(("rollback", 2))
    assert rollback_target(trail(*moves)) == 1
    moves.append(("rollback", 1))
    with pytest.raises(Conflict, match="roll back"):
        rollback_target(trail(*moves))


def test_a_set_after_a_rollback_starts_from_the_rolled_back_version() -> None:
    moves = [("set", 1), ("set", 2), ("rollback", 1), ("set", 3)]
    assert rollback_target(trail(*moves)) == 1


def test_delete_forgets_the_earlier_versions() -> None:
    with pytest.raises(Conflict):
        rollback_target(trail(("set", 1), ("set", 2), ("delete", None)))
    with pytest.raises(Conflict):
        rollback_target(trail(("set", 1), ("delete", None), ("set", 2)))
    assert rollback_target(trail(("set", 1), ("delete", None), ("set", 2), ("set", 4))) == 2


@pytest.mark.parametrize("moves", [(), (("set", 1),), (("set", 1), ("set", 1))])
def test_no_earlier_version_is_a_conflict(moves: tuple[tuple[str, int], ...]) -> None:
    with pytest.raises(Conflict, match="no earlier version"):
        rollback_target(trail(*moves))
