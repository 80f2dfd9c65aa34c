"""Analyses of trained and merged models (linear mode connectivity, ...)."""
