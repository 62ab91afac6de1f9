"""Pure statistics on numpy arrays: drift tests, multiple testing, realised and estimated
performance, A/B tests (fixed-horizon and sequential), paired comparisons of two models.

Imports nothing of mloop; every function takes array-likes, raises ValueError on malformed
input, and returns a documented value (usually NaN) when the data cannot answer the question.
"""

from mloop.stats.ab import (
    Comparison,
    SampleRatio,
    power_proportions,
    sample_size_proportions,
    srm_test,
    two_proportion_test,
    welch_test,
)
from mloop.stats.binned import chi_square, jensen_shannon, ks_binned, psi, wasserstein_binned
from mloop.stats.cbpe import (
    Calibration,
    Estimate,
    calibration_error,
    estimate_performance,
    fit_calibration,
)
from mloop.stats.drift import TestResult, ks_p_value, ks_test, wasserstein, wasserstein_normed
from mloop.stats.effect import jensen_shannon_corrected, merge_bins, wasserstein_rank
from mloop.stats.intervals import (
    auc_interval,
    classification_with_intervals,
    confusion_intervals,
    regression_with_intervals,
    wilson,
)
from mloop.stats.multiple import adjust_p_values
from mloop.stats.paired import (
    PAIRED_METRICS,
    PairedComparison,
    Scored,
    bootstrap_improvements,
    mcnemar,
    paired_bootstrap,
)
from mloop.stats.performance import (
    classification_metrics,
    confusion_counts,
    confusion_metrics,
    log_loss,
    regression_metrics,
    roc_auc,
)
from mloop.stats.sequential import SequentialResult, sequential_proportions

__all__ = [
    "PAIRED_METRICS",
    "Calibration",
    "Comparison",
    "Estimate",
    "PairedComparison",
    "SampleRatio",
    "Scored",
    "SequentialResult",
    "TestResult",
    "adjust_p_values",
    "auc_interval",
    "bootstrap_improvements",
    "calibration_error",
    "chi_square",
    "classification_metrics",
    "classification_with_intervals",
    "confusion_counts",
    "confusion_intervals",
    "confusion_metrics",
    "estimate_performance",
    "fit_calibration",
    "jensen_shannon",
    "jensen_shannon_corrected",
    "ks_binned",
    "ks_p_value",
    "ks_test",
    "log_loss",
    "mcnemar",
    "merge_bins",
    "paired_bootstrap",
    "power_proportions",
    "psi",
    "regression_metrics",
    "regression_with_intervals",
    "roc_auc",
    "sample_size_proportions",
    "sequential_proportions",
    "srm_test",
    "two_proportion_test",
    "wasserstein",
    "wasserstein_binned",
    "wasserstein_normed",
    "wasserstein_rank",
    "welch_test",
    "wilson",
]
