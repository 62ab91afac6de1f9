"""``mloop retrain``: retraining policies, and running one (or saying what it would do)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.progress import Progress

from mloop.cli.common import JsonOption, client, emit, out, print_json, say, share_steps
from mloop.entities import GateConfig, RetrainingPolicy, Triggers
from mloop.errors import InvalidInput
from mloop.retraining.recipe import load_recipe
from mloop.services import decision_record
from mloop.services.retraining_policy import policy_to_dict


class _RetrainGroup(typer.core.TyperGroup):
    """``mloop retrain churn`` runs a model's policy; ``mloop retrain policy ...`` edits it."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().resolve_command(ctx, args)


retrain_app = typer.Typer(
    cls=_RetrainGroup,
    no_args_is_help=True,
    help="Retrain a model by its policy: mloop retrain churn [--dry-run] [--force].",
)
policy_app = typer.Typer(
    no_args_is_help=True, help="Set, show or delete a model's retraining policy."
)
retrain_app.add_typer(policy_app, name="policy")


def _json(text: str | None, field: str, default: Any) -> Any:
    if text is None:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--{field} is not JSON: {exc}", field=field) from exc


def _guardrails(items: list[str]) -> dict[str, float]:
    found = {}
    for item in items:
        metric, _, tolerance = item.partition("=")
        try:
            found[metric.strip()] = float(tolerance)
        except ValueError as exc:
            raise InvalidInput(
                f"--guardrail {item!r}: give metric=tolerance, e.g. accuracy=0.02",
                field="guardrail",
            ) from exc
    return found


def _canary(
    on_pass: str, steps: str | None, min_sample: int | None, options: str | None
) -> dict[str, Any]:
    """The canary options a pass starts with; refused unless the pass starts a canary, or when
    an option is given both by its own flag and in ``--canary-options``."""
    canary = _json(options, "canary-options", {})
    if not isinstance(canary, dict):
        raise InvalidInput("--canary-options must be a JSON object", field="canary-options")
    both_ways = (("canary-steps", "steps", steps), ("canary-min-sample", "min_sample", min_sample))
    for flag, key, value in both_ways:
        if value is not None and key in canary:
            raise InvalidInput(
                f'--{flag} and "{key}" in --canary-options both set the canary\'s {key}; '
                "give one of them",
                field=flag,
            )
    if steps is not None:
        canary["steps"] = list(share_steps(steps, "canary-steps") or ())
    if min_sample is not None:
        canary["min_sample"] = min_sample
    if canary and on_pass != "canary":
        raise InvalidInput(
            "canary options apply only with --on-pass canary", field="canary-options"
        )
    return canary


Opt = typer.Option


@policy_app.command("set")
def policy_set(
    ctx: typer.Context,
    model: str,
    recipe: Annotated[str, Opt(help="Training entry point package.module:function.")],
    target: Annotated[str, Opt(help="The label column's name.")],
    params: Annotated[str | None, Opt(help="Recipe params as a JSON object.")] = None,
    candidates: Annotated[str | None, Opt(help="A sweep: a JSON list of param objects.")] = None,
    trigger_drift: Annotated[
        bool, Opt("--trigger-drift", help="Retrain on dataset drift.")
    ] = False,
    metric: Annotated[str, Opt(help="Metric the drop triggers watch.")] = "f1",
    metric_drop: Annotated[float | None, Opt(help="Realized drop that triggers.")] = None,
    estimated_drop: Annotated[float | None, Opt(help="CBPE-estimated drop that triggers.")] = None,
    new_labels: Annotated[int | None, Opt(help="New labelled rows that trigger.")] = None,
    every: Annotated[float | None, Opt(help="Retrain on a schedule (seconds).")] = None,
    window: Annotated[str, Opt(help="Production window: rows (10000) or a period (7d).")] = "10000",
    holdout: Annotated[float, Opt(help="Share of the newest labelled rows for the gate.")] = 0.3,
    half_life: Annotated[float | None, Opt(help="Weight recent rows (seconds).")] = None,
    max_rows: Annotated[int, Opt(help="Cap on training rows.")] = 1_000_000,
    cooldown: Annotated[
        float, Opt(help="Seconds after a challenger trains before the next.")
    ] = 3600.0,
    max_per_day: Annotated[int, Opt(help="Challengers trained per 24 h at most.")] = 4,
    gate_metric: Annotated[str, Opt(help="The gate's primary metric.")] = "f1",
    gate_test: Annotated[str, Opt(help="bootstrap or mcnemar.")] = "bootstrap",
    margin: Annotated[float, Opt(help="Improvement the challenger must show.")] = 0.0,
    resamples: Annotated[int, Opt(help="Bootstrap resamples.")] = 2000,
    guardrail: Annotated[list[str] | None, Opt(help="metric=tolerance, repeatable.")] = None,
    on_pass: Annotated[str, Opt(help="promote or canary.")] = "promote",
    canary_steps: Annotated[
        str | None, Opt(help="The canary's challenger shares in percent, e.g. 5,25,50,100.")
    ] = None,
    canary_min_sample: Annotated[
        int | None, Opt(min=1, help="Answers per arm a canary step needs.")
    ] = None,
    canary_options: Annotated[
        str | None, Opt(help='Other canary options as JSON, e.g. {"promote_when": "better"}.')
    ] = None,
    executor: Annotated[str, Opt(help="local or dask.")] = "local",
    dask_address: Annotated[str | None, Opt(help="A Dask scheduler's address.")] = None,
    alias: Annotated[str, Opt(help="The alias a pass moves.")] = "champion",
    dataset: Annotated[str, Opt(help="The champion run's stored training dataset.")] = "train",
) -> None:
    """Set (or replace) the retraining policy of a model."""
    policy = RetrainingPolicy(
        model=model,
        recipe=recipe,
        target=target,
        triggers=Triggers(trigger_drift, metric, metric_drop, estimated_drop, new_labels, every),
        gate=GateConfig(
            gate_metric, margin, gate_test, 0.95, resamples, _guardrails(guardrail or [])
        ),
        params=_json(params, "params", {}),
        candidates=tuple(_json(candidates, "candidates", [])),
        alias=alias,
        window=window,
        dataset=dataset,
        holdout=holdout,
        half_life_seconds=half_life,
        max_rows=max_rows,
        cooldown_seconds=cooldown,
        max_per_day=max_per_day,
        on_pass=on_pass,
        canary=_canary(on_pass, canary_steps, canary_min_sample, canary_options),
        executor=executor,
        dask_address=dask_address,
    )
    stored = client(ctx, create=True).retraining.set_policy(policy)
    say(f"retraining policy of {stored.model} set: recipe {stored.recipe}, target {stored.target}")
    try:
        load_recipe(stored.recipe)
    except InvalidInput as exc:
        say(f"warning: {exc}; it must be importable where retraining runs (mloop retrain, serve)")


@policy_app.command("delete")
def policy_delete(ctx: typer.Context, model: str) -> None:
    """Remove the retraining policy of a model; its history stays."""
    client(ctx).retraining.delete_policy(model)
    say(f"retraining policy of {model} deleted: nothing retrains it automatically now")


@policy_app.command("show")
def policy_show(ctx: typer.Context, model: str, as_json: JsonOption = False) -> None:
    """Show the retraining policy of a model."""
    document = policy_to_dict(client(ctx).retraining.policy(model))
    if as_json:
        print_json(document)
        return
    rows = [{"field": k, "value": json.dumps(v, default=str)} for k, v in document.items()]
    emit(rows, False, f"retraining policy of {model}")


def _print(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(record)
    else:
        say(f"{record.get('kind', record.get('action'))}: {record['reason']}")


@retrain_app.command("run")
def retrain_run(
    ctx: typer.Context,
    model: str,
    dry_run: Annotated[
        bool, Opt("--dry-run", help="Say what would happen, change nothing.")
    ] = False,
    force: Annotated[bool, Opt("--force", help="Retrain even without a trigger.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Retrain MODEL now if its policy says so (or --force); also `mloop retrain MODEL`.

    Exit 1 when the recipe fails.
    """
    from mloop.retraining import plan_retraining, retrain

    if dry_run:
        plan = plan_retraining(client(ctx), model, force=force)
        record = {**asdict(plan), "fired": [asdict(f) for f in plan.fired]}
        _print(record, as_json)
        return
    active = client(ctx, create=True)
    with Progress(console=out, transient=True, disable=as_json or not out.is_terminal) as progress:
        task = progress.add_task(f"retraining {model}", total=None)
        decision = retrain(
            active, model, force=force, progress=lambda done: progress.update(task, completed=done)
        )
    _print(decision_record(decision), as_json)
    if decision.kind.value == "failed":
        raise typer.Exit(1)
