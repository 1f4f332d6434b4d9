"""The read-only SNMP agent: SNMPv2-MIB, IF-MIB, HOST-RESOURCES-MIB and BGP4-MIB for the box.

Run it with ``ixpctl run snmp`` (``python -m appliance.snmp``, see ``__main__``): its unit on the
image, the SNMP concern's apply in a lab (``appliance.snmp.service``); configure it through
``SnmpConcern``.
"""
