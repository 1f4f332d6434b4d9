"""Backup and restore of the box's durable state (issue 21 item 7).

A backup is one file: a gzip tar whose first member is ``manifest.json`` (format version,
software version, schema version, the SHA-256 of every file), encrypted as a whole when a
passphrase is given (``archive.py``). A restore reads and checks the whole file before it
changes anything, then swaps the parts in through a journal that a later run finishes if the
restoring process died (``restore.py``).
"""
