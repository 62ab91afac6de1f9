"""Retraining policies checked and turned into the JSON documents the store keeps."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, fields, replace
from typing import Any

from mloop.entities import GateConfig, RetrainingPolicy, RolloutPolicy, Triggers
from mloop.errors import InvalidInput
from mloop.prediction_log import parse_window
from mloop.services.integers import integer
from mloop.services.rollouts import make_policy
from mloop.stats import PAIRED_METRICS
from mloop.uris import alias_name, model_name

ON_PASS = ("promote", "canary")
EXECUTORS = ("local", "dask")
GATE_TESTS = ("bootstrap", "mcnemar")
CHALLENGER_DATASETS = ("retraining.holdout", "retraining.weights")  # what else a challenger stores
_ENTRY_POINT = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")


def _number(field: str, value: Any, low: float, high: float = math.inf) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not low <= float(value) <= high:
        raise InvalidInput(f"{field} must be a number from {low:g} to {high:g}", field=field)
    return float(value)


def _choice(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(f"{field} {value!r} is not one of {', '.join(allowed)}", field=field)
    return str(value)


def _metric(field: str, value: Any) -> str:
    return _choice(field, value, PAIRED_METRICS)


def _triggers(found: Triggers) -> Triggers:
    if not isinstance(found.drift, bool):
        raise InvalidInput("triggers.drift must be true or false", field="triggers.drift")
    _metric("triggers.metric", found.metric)
    for name in ("metric_drop", "estimated_drop"):
        if getattr(found, name) is not None:
            _number(f"triggers.{name}", getattr(found, name), 0.0, 1.0)
    if found.new_labels is not None:
        integer("triggers.new_labels", found.new_labels, minimum=1)
    if found.every_seconds is not None:
        _number("triggers.every_seconds", found.every_seconds, 1.0)
    return found


def _gate(found: GateConfig) -> GateConfig:
    _metric("gate.metric", found.metric)
    _choice("gate.test", found.test, GATE_TESTS)
    if found.test == "mcnemar" and found.metric != "accuracy":
        raise InvalidInput("gate.test mcnemar compares accuracy only", field="gate.metric")
    _number("gate.margin", found.margin, 0.0, 1.0)
    _number("gate.confidence", found.confidence, 0.5, 0.999)
    integer("gate.resamples", found.resamples, minimum=10)
    if not isinstance(found.guardrails, Mapping):
        raise InvalidInput(
            "gate.guardrails must map metrics to tolerances", field="gate.guardrails"
        )
    for metric, tolerance in found.guardrails.items():
        _metric("gate.guardrails", metric)
        _number(f"gate.guardrails.{metric}", tolerance, 0.0, 1.0)
    return replace(found, guardrails=dict(found.guardrails))


def _recipe(value: Any) -> str:
    if not isinstance(value, str) or not _ENTRY_POINT.match(value):
        raise InvalidInput(
            f"recipe {value!r} must be an entry point such as package.module:function",
            field="recipe",
        )
    return value


def check_policy(policy: RetrainingPolicy) -> RetrainingPolicy:
    """``policy`` if every field holds a usable value; InvalidInput naming the field otherwise."""
    if not isinstance(policy.target, str) or not policy.target:
        raise InvalidInput("target must name the label column", field="target")
    parse_window(str(policy.window))
    _number("holdout", policy.holdout, 0.05, 0.9)
    if policy.half_life_seconds is not None:
        _number("half_life_seconds", policy.half_life_seconds, 1.0)
    integer("max_rows", policy.max_rows, minimum=20)
    _number("cooldown_seconds", policy.cooldown_seconds, 0.0)
    integer("max_per_day", policy.max_per_day, minimum=1)
    _number("lock_seconds", policy.lock_seconds, 1.0)
    _choice("on_pass", policy.on_pass, ON_PASS)
    _choice("executor", policy.executor, EXECUTORS)
    if not isinstance(policy.candidates, list | tuple) or not all(
        isinstance(c, Mapping) for c in policy.candidates
    ):
        raise InvalidInput("candidates must be a list of param mappings", field="candidates")
    if not isinstance(policy.params, Mapping):
        raise InvalidInput("params must map names to values", field="params")
    for name in ("dataset", "dask_address"):
        value = getattr(policy, name)
        if not isinstance(value, str) and not (name == "dask_address" and value is None):
            raise InvalidInput(f"{name} must be a string, got {value!r}", field=name)
    if not policy.dataset or policy.dataset in CHALLENGER_DATASETS:
        raise InvalidInput(
            f"dataset {policy.dataset!r} must name the training set, not one of "
            f"{', '.join(CHALLENGER_DATASETS)}",
            field="dataset",
        )
    if not isinstance(policy.canary, Mapping):
        raise InvalidInput("canary must map rollout options to values", field="canary")
    canary_policy(policy)
    return replace(
        policy,
        model=model_name(policy.model),
        recipe=_recipe(policy.recipe),
        alias=alias_name(policy.alias),
        window=str(policy.window),
        triggers=_triggers(policy.triggers),
        gate=_gate(policy.gate),
        params=dict(policy.params),
        candidates=tuple(dict(c) for c in policy.candidates),
        canary=dict(policy.canary),
    )


def canary_policy(policy: RetrainingPolicy) -> RolloutPolicy:
    """The canary a passing challenger of ``policy`` starts: the canary defaults with
    ``policy.canary``'s options, on ``policy.alias``.

    Raises InvalidInput naming a bad option; ``mode`` and ``alias`` among the options are
    refused (field ``canary``): a pass always starts a canary, on the policy's own alias.
    """
    fixed = sorted(set(policy.canary) & {"mode", "alias"})
    if fixed:
        raise InvalidInput(
            f"canary options may not set {' or '.join(fixed)}: a pass always starts a canary "
            "on the policy's own alias (set by alias, --alias)",
            field="canary",
        )
    options = {**policy.canary, "alias": policy.alias}
    return make_policy("canary", **options)


def policy_to_dict(policy: RetrainingPolicy) -> dict[str, Any]:
    """The policy as a JSON-able dict (nested triggers and gate, candidates as a list)."""
    document = asdict(policy)
    document["candidates"] = [dict(c) for c in policy.candidates]
    return document


def _known(cls: type, document: Any, where: str) -> dict[str, Any]:
    if not isinstance(document, Mapping):
        raise InvalidInput(f"{where} must be a mapping, got {document!r}", field=where)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(document) - names)
    if unknown:
        raise InvalidInput(f"{where} has unknown fields {unknown}", field=f"{where}.{unknown[0]}")
    return dict(document)


def policy_from_dict(document: Mapping[str, Any]) -> RetrainingPolicy:
    """A checked policy from its dict form; InvalidInput naming a missing or unknown field."""
    if not isinstance(document, Mapping):
        raise InvalidInput("a retraining policy must be a mapping", field="policy")
    values = _known(RetrainingPolicy, document, "policy")
    for required in ("model", "recipe", "target"):
        if required not in values:
            raise InvalidInput(f"a retraining policy needs {required!r}", field=required)
    values["triggers"] = Triggers(**_known(Triggers, values.get("triggers") or {}, "triggers"))
    values["gate"] = GateConfig(**_known(GateConfig, values.get("gate") or {}, "gate"))
    candidates = values.get("candidates") or ()
    if not isinstance(candidates, list | tuple):
        raise InvalidInput("candidates must be a list of param mappings", field="candidates")
    values["candidates"] = tuple(candidates)
    return check_policy(RetrainingPolicy(**values))
