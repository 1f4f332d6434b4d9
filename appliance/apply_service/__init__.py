"""The privileged apply helper (``ixp-apply``) and the one client the web UI uses.

The web UI is the one process reachable from the management network, so on the image it runs
as ``ixp-web`` with no capabilities. What needs root (the pipeline's verify, apply and commit,
the backup restore, the firmware update and reboot, a NIC's identify light) is asked of a root
service behind a Unix socket, one JSON line per request (``protocol``). ``client`` gives the
web one call shape whether the pipeline runs in-process (lab and tests as root) or here.
"""
