"""Firmware for years in the field: signed A/B updates with RAUC, and the trial boot's gate.

Rooms, as a capability has them: ``rauc`` is the tool wrapper (RAUC's command line),
``bundle`` reads and checks an update bundle before anything changes (pure checks),
``records`` keeps what an update left on the shared data partition (pending trial, last
outcome, progress), ``health`` decides whether the new system is healthy (pure evaluation,
with the probes beside it), ``gate`` runs at every boot and marks the slot good or falls back,
``update`` installs a bundle, drains the route server and reboots, and ``status`` is what the
Firmware page, the dashboard and the API read.
"""
