"""The bank-churn scenario, end to end (``mloop demo``), and its retraining recipe.

``run_demo`` tells the whole loop on one store; ``train_churn`` is the recipe retraining
policies name as ``mloop.demo:train_churn``.
"""

from mloop.demo.endstate import EndState
from mloop.demo.models import Candidate, candidates, churn_pipeline, evaluate, train_churn
from mloop.demo.story import DemoOptions, run_demo

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
