"""The bank-churn scenario: synthetic customers whose churn depends on how they bank."""

from __future__ import annotations

import numpy as np
import pandas as pd

NUMERIC_FEATURES = (
    "customer_age",
    "annual_income",
    "credit_score",
    "account_balance",
    "transaction_frequency",
    "avg_transaction_amount",
    "months_as_customer",
    "num_products",
    "digital_engagement",
)
CATEGORICAL_FEATURES = ("geographic_region",)
REGIONS = ("North", "South", "East", "West")
TARGET = "churn"
CHURN_RATE = 0.25
HARDSHIP = 1.0  # how much more a low income drives churn in the downturn


def _churn_score(frame: pd.DataFrame, noise: np.ndarray) -> np.ndarray:
    age = (frame["customer_age"] - 35) / 12
    credit = (frame["credit_score"] - 650) / 100
    balance = np.log1p(frame["account_balance"]) / 10
    activity = (frame["transaction_frequency"] - 25) / 25
    engagement = frame["digital_engagement"]
    tenure = np.log1p(frame["months_as_customer"]) / 4
    score = -0.25 * age - 0.35 * credit - 0.2 * balance - 0.25 * activity - 0.6 * engagement
    return np.asarray(score - 0.15 * tenure + noise)


def churn_customers(n: int, seed: int = 42, *, economic_downturn: float = 0.0) -> pd.DataFrame:
    """``n`` customers with the scenario's 10 features and a ``churn`` label (about 25%).

    ``economic_downturn`` in [0, 1] lowers incomes, spending and credit scores, as in the
    scenario's production drift; 0 gives the training population.
    """
    rng = np.random.default_rng(seed)
    shock = float(np.clip(economic_downturn, 0.0, 1.0))
    frame = pd.DataFrame(
        {
            "customer_age": rng.normal(35, 12, n).clip(18, 80),
            "annual_income": rng.lognormal(10.5, 0.6, n) * (1 - 0.15 * shock),
            "credit_score": (rng.normal(650, 100, n) - 20 * shock).clip(300, 850),
            "account_balance": rng.lognormal(8, 1.5, n),
            "transaction_frequency": rng.poisson(25, n).astype("int64"),
            "avg_transaction_amount": rng.lognormal(4, 0.8, n) * (1 - 0.1 * shock),
            "months_as_customer": rng.exponential(24, n).clip(1, 120),
            "num_products": rng.poisson(2.5, n).clip(1, 10).astype("int64"),
            "digital_engagement": rng.beta(3, 2, n),
            "geographic_region": rng.choice(REGIONS, size=n, p=[0.3, 0.25, 0.25, 0.2]),
        }
    )
    score = _churn_score(frame, rng.normal(0, 0.5, n))
    frame[TARGET] = (score > np.quantile(score, 1 - CHURN_RATE)).astype("int64")
    return frame


def downturn_traffic(n: int, seed: int) -> pd.DataFrame:
    """``n`` production customers after the downturn, as the scenario's monitoring sees them.

    The features shift as in the scenario's production drift: incomes x0.85, spending
    (``avg_transaction_amount``) x0.9 and credit scores -20 +/- 10 (normal). The ``churn`` labels
    follow the new economy: customers with low incomes now leave more often, which a model
    trained before the downturn cannot know (about 25% churn, as before).
    """
    rng = np.random.default_rng([seed, 1])  # a stream apart from the customers' own
    frame = churn_customers(n, seed=seed).drop(columns=[TARGET])
    frame["annual_income"] = frame["annual_income"] * 0.85
    frame["avg_transaction_amount"] = frame["avg_transaction_amount"] * 0.9
    frame["credit_score"] = (frame["credit_score"] + rng.normal(-20, 10, n)).clip(300, 850)
    hardship = -(np.log(frame["annual_income"]) - 10.5) / 0.6
    score = _churn_score(frame, rng.normal(0, 0.5, n)) + HARDSHIP * hardship
    frame[TARGET] = (score > np.quantile(score, 1 - CHURN_RATE)).astype("int64")
    return frame
