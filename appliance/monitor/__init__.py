"""Watching the running exchange: counters, samples over time, graphs, health, metrics."""
