"""Rollout tests run on every store: SQL on SQLite and PostgreSQL, and over HTTP."""
