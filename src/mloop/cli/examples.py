"""One example per command, shown at the end of its ``--help``; a test checks none is missing."""

from __future__ import annotations

import typer
from typer.models import DefaultPlaceholder

EXAMPLES = {
    "mloop": "mloop demo --fast    # the whole loop on the bank-churn scenario",
    "mloop experiments": "mloop experiments ls --json",
    "mloop experiments ls": "mloop experiments ls --json",
    "mloop runs": 'mloop runs ls --experiment churn --order-by "metrics.f1 DESC"',
    "mloop runs ls": (
        'mloop runs ls --experiment churn --filter "metrics.f1 > 0.4" --order-by "metrics.f1 DESC"'
    ),
    "mloop runs show": "mloop runs show 2f03e550",
    "mloop runs compare": "mloop runs compare 2f03e550 945c9b98",
    "mloop models": "mloop models show churn",
    "mloop models ls": "mloop models ls --json",
    "mloop models show": "mloop models show churn --version 2",
    "mloop models promote": 'mloop models promote churn 2 --reason "better F1"',
    "mloop models rollback": 'mloop models rollback churn --reason "v2 misbehaves"',
    "mloop models history": "mloop models history churn",
    "mloop models evaluate": (
        "mloop models evaluate churn --versions 1,2 --data holdout.parquet --label-column churn"
    ),
    "mloop models reference": "mloop models reference churn 2 --data test.parquet",
    "mloop store": "mloop store upgrade",
    "mloop store upgrade": "mloop --store postgresql+psycopg://mloop@db/mloop store upgrade",
    "mloop monitor": "mloop monitor run --model churn@champion --window 6h",
    "mloop monitor run": "mloop monitor run --model churn@champion --window 6h --report drift.html",
    "mloop monitor history": "mloop monitor history --model churn",
    "mloop alerts": "mloop alerts ls --status open",
    "mloop alerts ls": "mloop alerts ls --status open",
    "mloop alerts ack": "mloop alerts ack 3",
    "mloop alerts resolve": "mloop alerts resolve 3",
    "mloop rollout": "mloop rollout status churn",
    "mloop rollout start": (
        'mloop rollout start churn --challenger 3 --mode canary --steps 5,25,50,100 --reason "May"'
    ),
    "mloop rollout status": "mloop rollout status churn --json",
    "mloop rollout analyze": "mloop rollout analyze churn --decide",
    "mloop rollout stop": 'mloop rollout stop churn --reason "holiday freeze"',
    "mloop retrain": "mloop retrain churn --dry-run --json",
    "mloop retrain run": "mloop retrain churn --force --json",
    "mloop retrain policy": "mloop retrain policy show churn --json",
    "mloop retrain policy set": (
        "mloop retrain policy set churn --recipe mloop.demo:train_churn --target churn "
        "--trigger-drift --on-pass canary"
    ),
    "mloop retrain policy show": "mloop retrain policy show churn --json",
    "mloop retrain policy delete": "mloop retrain policy delete churn",
    "mloop serve": "mloop serve models:/churn@champion --port 8000 --workers 2",
    "mloop predictions": "mloop predictions erase --unit C-10293",
    "mloop predictions show": "mloop predictions show churn --last 5 --feedback --json",
    "mloop predictions retain": "mloop predictions retain --days 90",
    "mloop predictions erase": "mloop predictions erase --unit C-10293 --json",
    "mloop predictions erasures": "mloop predictions erasures --json",
    "mloop predictions rollup": "mloop predictions rollup",
    "mloop webhooks": "mloop webhooks deliveries --status failed",
    "mloop webhooks deliveries": "mloop webhooks deliveries --status failed --limit 20",
    "mloop webhooks deliver": "mloop webhooks deliver",
    "mloop predict": (
        "mloop predict --input customers.parquet --model models:/churn@champion -o scored.parquet"
    ),
    "mloop server": "mloop server --serve churn --monitor churn@champion --monitor-every 300",
    "mloop demo": "mloop demo --fast --json > end-state.json",
    "mloop report": "mloop report --model churn --out report.html --png overview.png",
}


def _unset(value: object) -> bool:
    return value is None or (isinstance(value, DefaultPlaceholder) and value.value is None)


def _example(path: str) -> str | None:
    example = EXAMPLES.get(path)
    return None if example is None else f"Example: {example}"


def add_examples(app: typer.Typer, path: str = "mloop") -> None:
    """Give every command and group of ``app`` (under ``path``) the epilog of its example,
    unless it has an epilog of its own."""
    if _unset(app.info.epilog):
        app.info.epilog = _example(path)
    if app.registered_callback is not None and _unset(app.registered_callback.epilog):
        app.registered_callback.epilog = _example(path)
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        if _unset(command.epilog):
            command.epilog = _example(f"{path} {name.replace('_', '-')}")
    for group in app.registered_groups:
        if group.typer_instance is not None and group.name is not None:
            if _unset(group.epilog):
                group.epilog = _example(f"{path} {group.name}")
            add_examples(group.typer_instance, f"{path} {group.name}")
