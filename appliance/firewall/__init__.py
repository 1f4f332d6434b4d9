"""Management-plane isolation: an nftables ``inet`` table on the box's own input path.

The web UI, SSH and SNMP answer only on the management NIC; BGP only from member addresses on
the peering LAN; DNS only from the networks the resolver serves. Everything else addressed to
the box is dropped and counted per reason. Forwarded (member-to-member) traffic is not touched:
that is the bridge hygiene ruleset's job.

Modules, one job each:

- ``render``: the ruleset for a config (pure), its reasons and address sets.
- ``nft``: check, load, remove and list the table inside a namespace (or on the image's host).
- ``safety``: the lockout checks run before the table is loaded on a real system.
- ``drops``: the drop counters per reason, for the operator.
- ``concern``: ``FirewallConcern``, the pipeline's entry point.
"""
