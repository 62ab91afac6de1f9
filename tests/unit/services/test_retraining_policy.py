"""The canary a retraining policy starts on a pass: its options, checked and kept."""

from __future__ import annotations

import pytest

from mloop.entities import RetrainingPolicy, RolloutMode
from mloop.errors import InvalidInput
from mloop.services.retraining_policy import (
    canary_policy,
    check_policy,
    policy_from_dict,
    policy_to_dict,
)


def _policy(**changes: object) -> RetrainingPolicy:
    values: dict[str, object] = {"model": "churn", "recipe": "mloop.demo:train_churn",
                                 "target": "churn", "on_pass": "canary"}  # fmt: skip
    values.update(changes)
    return RetrainingPolicy(**values)  # type: ignore[arg-type]


def test_without_options_the_canary_has_the_defaults() -> None:
    canary = canary_policy(_policy(alias="prod"))
    assert canary.mode == RolloutMode.CANARY
    assert canary.steps == (0.05, 0.25, 0.5, 1.0) and canary.min_sample == 100
    assert canary.alias == "prod" and canary.promote_when == "guardrails"


def test_the_policy_sets_the_canary_and_keeps_it_through_the_store_form() -> None:
    policy = check_policy(_policy(canary={"steps": [0.1, 0.5, 1.0], "min_sample": 50}))
    again = policy_from_dict(policy_to_dict(policy))
    canary = canary_policy(again)
    assert canary.steps == (0.1, 0.5, 1.0) and canary.min_sample == 50


@pytest.mark.parametrize(
    ("options", "field"),
    [({"min_sampel": 5}, "min_sampel"), ({"steps": [0.5, 0.1]}, "steps")],
)
def test_a_bad_canary_option_is_refused_naming_it(options: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_policy(_policy(canary=options))
    assert caught.value.field == field


@pytest.mark.parametrize("options", [{"mode": "ab"}, {"alias": "prod"}, {"mode": "canary"}])
def test_the_canary_options_may_not_set_its_mode_or_alias(options: dict[str, object]) -> None:
    said = f"may not set {next(iter(options))}"
    with pytest.raises(InvalidInput, match=said) as caught:
        check_policy(_policy(canary=options))
    assert caught.value.field == "canary"
    stored_form = {**policy_to_dict(check_policy(_policy())), "canary": options}
    with pytest.raises(InvalidInput, match=said) as caught:
        policy_from_dict(stored_form)
    assert caught.value.field == "canary"


@pytest.mark.parametrize("dataset", ["", "retraining.holdout", "retraining.weights"])
def test_the_dataset_must_name_a_training_set_of_its_own(dataset: str) -> None:
    with pytest.raises(InvalidInput, match="must name the training set") as caught:
        check_policy(_policy(dataset=dataset))
    assert caught.value.field == "dataset"
