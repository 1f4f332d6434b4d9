"""Pure render functions: model in, file bytes out (no I/O, no clock)."""
