"""Starter IXP appliance: one box that is a complete Internet Exchange Point."""

__version__ = "0.1.0"
