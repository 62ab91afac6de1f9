"""Per-domain services over the store interfaces: what ``Client`` and the servers are made of."""

from __future__ import annotations

from mloop.services.monitoring import MonitoringService
from mloop.services.prediction_log import PredictionLogService
from mloop.services.registry import RegistryService, rollback_target
from mloop.services.retraining import RetrainingService, decision_record
from mloop.services.rollouts import RolloutService
from mloop.services.tracking import DEFAULT_EXPERIMENT, TrackingService, runs_frame

__all__ = [
    "DEFAULT_EXPERIMENT",
    "MonitoringService",
    "PredictionLogService",
    "RegistryService",
    "RetrainingService",
    "RolloutService",
    "TrackingService",
    "decision_record",
    "rollback_target",
    "runs_frame",
]
