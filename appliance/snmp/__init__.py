"""The read-only SNMP agent: SNMPv2-MIB, IF-MIB, HOST-RESOURCES-MIB and BGP4-MIB for the box.

Run it with ``python -m appliance.snmp`` (see ``__main__``) or, from the dev runner, through
``appliance.snmp.service.SnmpService``; configure it through ``SnmpConcern``.
"""
