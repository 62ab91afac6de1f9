"""Monitoring: reference profiles, drift, realized and estimated performance, alerts."""
