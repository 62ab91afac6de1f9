"""Mergeable data profiles: a reference profile per model version, window profiles of traffic.

A window profile counts production rows on the reference's bin edges and categories, so
``merge_profiles(window_profile(r, a), window_profile(r, b)) == window_profile(r, a + b)``
(counts, missing, min and max exactly; mean and spread to float rounding). The bin layout is
described in ``mloop.profiles.binning``. Window profiles serialise compactly against their
reference: ``profile_to_dict(p, reference=r)`` stores a fingerprint instead of the reference's
edges and ``profile_from_dict(d, reference=r)`` restores them.
"""

from mloop.profiles.binning import QUANTILE_SAMPLE
from mloop.profiles.categorical import (
    OTHERS_KEPT,
    CategoricalProfile,
    category_name,
    unseen_categories,
    unseen_count,
)
from mloop.profiles.dataset import (
    MAX_DISCRETE_VALUES,
    ColumnProfile,
    DatasetProfile,
    merge_all,
    merge_profiles,
    missing_rate,
    on_reference,
    proportions,
    reference_profile,
    window_profile,
)
from mloop.profiles.numeric import NumericProfile, out_of_range, std
from mloop.profiles.serialisation import profile_from_dict, profile_to_dict

__all__ = [
    "MAX_DISCRETE_VALUES",
    "OTHERS_KEPT",
    "QUANTILE_SAMPLE",
    "CategoricalProfile",
    "ColumnProfile",
    "DatasetProfile",
    "NumericProfile",
    "category_name",
    "merge_all",
    "merge_profiles",
    "missing_rate",
    "on_reference",
    "out_of_range",
    "profile_from_dict",
    "profile_to_dict",
    "proportions",
    "reference_profile",
    "std",
    "unseen_categories",
    "unseen_count",
    "window_profile",
]
