"""The hygiene ruleset's drop reasons and its hidden counter of tagged frames, by name: what
the counters' readers (the resident collector's alert round, SNMP, the UI) need, without the
renderer and the configuration model it imports (issue 14's memory bound)."""

from __future__ import annotations

# reason -> what it means, for the docs, the UI and SNMP.
REASONS: dict[str, str] = {
    "src_mac": "source MAC address is not one of the member's registered MACs",
    "bpdu": "spanning-tree BPDU (STP/RSTP/MSTP)",
    "link_local": "IEEE 802.1 link-local frame (LLDP, LACP, pause, 802.1X)",
    "ethertype": "802.1Q/802.1ad-tagged frame, or ethertype other than IPv4, ARP or IPv6 "
                 "(LLC/SNAP, CDP, ...)",
    "ra": "ICMPv6 router advertisement",
    "rs": "ICMPv6 router solicitation",
    "redirect6": "ICMPv6 redirect",
    "dhcpv6": "DHCPv6",
    "dhcp": "DHCP / BOOTP",
    "icmp_redirect": "ICMP (IPv4) redirect",
    "arp_spoof": "ARP whose sender is not one of the member's addresses (ARP spoofing)",
    "nd_spoof": "ICMPv6 neighbour advertisement for an address that is not the member's",
    "ipv4_broadcast": "IPv4 to the broadcast MAC other than DHCP (only ARP may be broadcast)",
    "ipv4_multicast": "IPv4 multicast (IGMP, OSPF, PIM, VRRP, mDNS, ...)",
    "ipv6_multicast": "IPv6 multicast other than neighbour solicitation/advertisement (MLD, ...)",
    "storm_bcast": "broadcast above the storm-control rate",
    "storm_mcast": "multicast above the storm-control rate",
    "blackhole": "traffic to the blackhole MAC: a destination a member asked the route server "
                 "to blackhole",
    "quarantine": "port in quarantine: only ARP, ND and BGP to the route server may pass",
    "quarantine_to": "traffic from other members to a port in quarantine",
}

# The hidden counter beside ``ethertype`` for tagged frames: nft counts a frame's length
# without the tag the kernel took into metadata, so status.py adds TAG_BYTES per tagged frame.
TAGGED = "tagged"
TAG_BYTES = 4
