"""Commands that start, watch, analyse and stop a model's rollout."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from mloop.cli.common import JsonOption, client, emit, print_json, say, share_steps

rollout_app = typer.Typer(
    no_args_is_help=True, help="Roll a challenger out: A/B, canary, shadow or bandit."
)
ModelArgument = Annotated[str, typer.Argument(help="The registered model's name.")]


def _shown(value: Any, digits: int = 4) -> Any:
    """A float rounded for a person to read; None as ``n/a``; anything else as it is."""
    if value is None:
        return "n/a"
    return round(value, digits) if isinstance(value, float) else value


def _print(payload: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        print_json(payload)
        return
    keys = ("name", "version", "weight", "n", "labelled", "metric", "ci_low", "ci_high")
    emit([{k: _shown(arm[k]) for k in keys} for arm in payload["arms"]], False, title)
    sequential = payload.get("sequential") or {}
    interval = [_shown(sequential.get(end)) for end in ("ci_low", "ci_high")]
    say(
        f"{payload['mode']} rollout {payload['rollout_id']} is {payload['state']} "
        f"(step {payload['step'] + 1} of {len(payload['steps'])}); "
        f"SRM p={_shown(payload['srm_p_value'])}; "
        f"sequential p={_shown(sequential.get('p_value'))} "
        f"interval of challenger - champion [{interval[0]}, {interval[1]}]"
    )
    for guardrail in payload.get("guardrails", []):
        state = "BREACHED" if guardrail["breached"] else "ok"
        name, value, limit = guardrail["name"], guardrail["value"], guardrail["limit"]
        say(f"guardrail {name}: {_shown(value)} (limit {_shown(limit)}) {state}")


def _policy_line(policy: dict[str, Any]) -> str:
    """The main options a rollout runs by, on one line (``--json`` shows them all)."""
    steps = ",".join(f"{share * 100:g}" for share in policy["steps"])
    guardrails = [f"error rate at most {policy['max_error_rate']:g}"]
    if policy["max_p99_ms"] is not None:
        guardrails.append(f"p99 at most {policy['max_p99_ms']:g} ms")
    if policy["max_p99_ratio"] is not None:
        guardrails.append(f"p99 at most {policy['max_p99_ratio']:g}x the champion's")
    return (
        f"policy: steps {steps}%; {policy['min_sample']} answers per arm a step; "
        f"evaluated every {policy['evaluate_every_seconds']:g} s; promote when "
        f"{policy['promote_when']} (margin {policy['margin']:g}), moving {policy['alias']}; "
        f"guardrails: {', '.join(guardrails)}"
    )


@rollout_app.command("start")
def start(
    ctx: typer.Context,
    model: ModelArgument,
    challenger: Annotated[int, typer.Option(help="The challenger's version.")],
    mode: Annotated[str, typer.Option(help="ab, canary, shadow or bandit.")] = "canary",
    steps: Annotated[
        str | None, typer.Option(help="Challenger shares in percent, e.g. 5,25,50,100.")
    ] = None,
    alias: Annotated[str, typer.Option(help="The champion's alias; promotion moves it.")] = (
        "champion"
    ),
    metric: Annotated[str, typer.Option(help="accuracy, or reward (the label as 0/1).")] = (
        "accuracy"
    ),
    promote_when: Annotated[
        str | None,
        typer.Option(help="better, not_worse or guardrails (the canary default; else better)."),
    ] = None,
    margin: Annotated[float, typer.Option(help="Non-inferiority margin (absolute).")] = 0.0,
    min_sample: Annotated[int, typer.Option(min=1, help="Answers per arm per step.")] = 100,
    max_sample: Annotated[int | None, typer.Option(min=1, help="Stop an A/B test here.")] = None,
    max_error_rate: Annotated[float, typer.Option(help="Guardrail: challenger errors.")] = 0.01,
    max_p99_ms: Annotated[float | None, typer.Option(help="Guardrail: challenger p99.")] = None,
    evaluate_every: Annotated[float, typer.Option(help="Seconds between decisions.")] = 30.0,
    secondary: Annotated[
        str | None,
        typer.Option(
            help="Metrics reported beside the primary, Holm-corrected: accuracy,latency_ms"
        ),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Start a rollout of a challenger version against the champion."""
    from dataclasses import asdict

    from mloop.services.rollouts import make_policy

    policy = make_policy(
        mode,
        steps=share_steps(steps),
        alias=alias,
        metric=metric,
        promote_when=promote_when,
        margin=margin,
        min_sample=min_sample,
        max_sample=max_sample,
        max_error_rate=max_error_rate,
        max_p99_ms=max_p99_ms,
        evaluate_every_seconds=evaluate_every,
        secondary=[name.strip() for name in (secondary or "").split(",") if name.strip()],
    )
    rollout = client(ctx).rollouts.start(model, challenger, policy, reason=reason)
    if as_json:
        print_json(asdict(rollout))
        return
    say(
        f"started {rollout.policy.mode} rollout {rollout.id} of {model}: version "
        f"{rollout.challenger} against {rollout.champion}, weights {rollout.weights}"
    )


@rollout_app.command("status")
def status(ctx: typer.Context, model: ModelArgument, as_json: JsonOption = False) -> None:
    """The newest rollout: arms, metric, intervals, SRM, sequential test and decisions."""
    payload = client(ctx).rollouts.status(model)
    if as_json:
        print_json(payload)
        return
    _print(payload, False, f"rollout of {model}")
    say(_policy_line(payload["policy"]))
    for decision in payload["decisions"]:
        say(f"- {decision['kind']}: {decision['reason']}")


@rollout_app.command("analyze")
def analyze(
    ctx: typer.Context,
    model: ModelArgument,
    decide: Annotated[bool, typer.Option(help="Apply what the policy decides now.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Analyse the newest rollout; with --decide, also take the decision it calls for."""
    from mloop.rollouts import evaluate

    active = client(ctx)
    if decide:
        active.rollouts.latest(model)
        decided = evaluate(active, model)
        if not as_json:
            last = active.rollouts.decisions(model)[-1] if decided is not None else None
            say(f"decided: {last.kind}: {last.reason}" if last else "nothing to decide yet")
    _print(active.rollouts.analyze(model).to_dict(), as_json, f"analysis of {model}")


@rollout_app.command("stop")
def stop(
    ctx: typer.Context,
    model: ModelArgument,
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Stop the running rollout: all traffic back to the champion, the alias unmoved."""
    rollout = client(ctx).rollouts.stop(model, reason=reason)
    if as_json:
        typer.echo(json.dumps({"id": rollout.id, "state": str(rollout.state)}))
        return
    say(f"stopped rollout {rollout.id} of {model}")
