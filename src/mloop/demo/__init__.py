"""The bank-churn scenario, end to end (``mloop demo``), and its retraining recipe.

``run_demo`` tells the whole loop on one store; ``train_churn`` is the recipe retraining
policies name as ``mloop.demo:train_churn``.
"""

from typing import TYPE_CHECKING

from mloop.lazy import lazy_exports

if TYPE_CHECKING:
    from mloop.demo.endstate import EndState
    from mloop.demo.models import Candidate, candidates, churn_pipeline, evaluate, train_churn
    from mloop.demo.story import DemoOptions, run_demo

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "EndState": "mloop.demo.endstate",
        **dict.fromkeys(
            ("Candidate", "candidates", "churn_pipeline", "evaluate", "train_churn"),
            "mloop.demo.models",
        ),
        **dict.fromkeys(("DemoOptions", "run_demo"), "mloop.demo.story"),
    },
)

__all__ = [
    "Candidate",
    "DemoOptions",
    "EndState",
    "candidates",
    "churn_pipeline",
    "evaluate",
    "run_demo",
    "train_churn",
]
