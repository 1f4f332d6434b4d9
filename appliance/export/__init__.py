"""Exports of the configuration in other formats (IX-F Member Export)."""
