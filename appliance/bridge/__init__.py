"""The peering LAN: a Linux bridge reconciled over netlink, with an nftables hygiene ruleset.

Modules, one job each:

- ``desired``: what the bridge should look like for a config (pure).
- ``netlink_state``: what it looks like now (reads netlink).
- ``plan``: the difference, as a list of operations (pure).
- ``reconcile``: performs those operations and records every netlink write.
- ``hygiene``: the nftables ruleset per member port (pure render).
- ``nft``: runs ``nft`` to check, load and list the ruleset inside a namespace.
- ``drops``: drop counters per port and reason, for the UI, SNMP and metrics.
- ``inventory``: the NICs of the box and what each is used for.
- ``concern``: ``BridgeConcern``, the pipeline's entry point.
"""
