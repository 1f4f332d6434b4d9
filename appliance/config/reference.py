"""The configuration reference (docs/config.md), generated from the model so it stays true.

Run ``python -m appliance.config.reference > docs/config.md`` after changing the model; a test
fails when a field has no description here or the file is stale.
"""

from __future__ import annotations

import ipaddress
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from appliance.config.model import IXPConfig

# path → (what it means and what to put, example value)
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "version": ("Format version of this file. Only 1 exists.", "1"),
    "lab": ("Marks a lab or demo config: documentation and private ASNs are then allowed for "
            "members. Never set it on a production IXP.", "true"),
    "identity": ("Who the IXP is: shown in the UI, SNMP and the IX-F export.", ""),
    "identity.name": ("Full name of the exchange.", "Example Island Internet Exchange"),
    "identity.short_name": ("Short name or acronym.", "EIIX"),
    "identity.country": ("ISO 3166 two-letter country code, in capitals.", "FJ"),
    "identity.city": ("City where the exchange is.", "Suva"),
    "identity.contact_email": ("The IXP's own NOC or contact address.", "noc@ix.example.net"),
    "identity.url": ("Public web site.", "https://www.ix.example.net/"),
    "identity.ixf_id": ("The exchange's id in the Euro-IX IX-F database, if it has one.", "123"),
    "identity.peeringdb_ix_id": ("The exchange's PeeringDB ix id, if it has one.", "456"),
    "identity.language": ("The web UI's language for browsers that ask for none of its own "
                          "(en, fr, es or pt); each user can switch in the page footer.", "fr"),
    "management": ("The management NIC: web UI, SSH and SNMP listen only here.", ""),
    "management.interface": ("NIC used for management; never a member port.", "eth0"),
    "management.hostname": ("Host name of the box: letters, digits and '-', labels joined "
                            "by '.'.", "rs1.ix.example.net"),
    "management.ipv4": ("'dhcp', or a static address with prefix length.", "192.0.2.10/24"),
    "management.ipv4_gateway": ("Default gateway with a static ipv4.", "192.0.2.1"),
    "management.ipv6": ("'auto' (SLAAC), 'none', or a static address with prefix length.",
                        "2001:db8:1::10/64"),
    "management.ipv6_gateway": ("IPv6 default gateway with a static ipv6.", "2001:db8:1::1"),
    "management.dns": ("DNS servers for the box itself (empty: from DHCP).", "[192.0.2.53]"),
    "management.ntp": ("NTP servers (names or addresses).", "[0.debian.pool.ntp.org]"),
    "management.timezone": ("IANA time zone for logs and the UI.", "Pacific/Fiji"),
    "management.trial_seconds": ("A changed management address or NIC is applied on trial: "
                                 "unless it is confirmed from the new address within this many "
                                 "seconds, the box returns to the last confirmed one.", "300"),
    "management.firewall": ("Management-plane isolation: web, SSH and SNMP answer only on the "
                            "management NIC, BGP only from member addresses, DNS only from "
                            "allowed networks. Turn off only to debug.", "true"),
    "management.allowed_networks": ("Networks allowed to reach the management services "
                                    "(empty: any on the management NIC).", "[192.0.2.0/24]"),
    "peering_lan": ("The shared layer-2 segment every member connects to.", ""),
    "peering_lan.bridge": ("Name of the Linux bridge that is the IXP switch.", "br-ixp"),
    "peering_lan.ipv4_prefix": ("The peering LAN's IPv4 prefix (from your RIR).",
                                "203.0.113.0/24"),
    "peering_lan.ipv6_prefix": ("The peering LAN's IPv6 prefix, usually a /64.",
                                "2001:db8:eeee::/64"),
    "peering_lan.mtu": ("MTU of the bridge and member ports; all members must use it.", "1500"),
    "peering_lan.vlan": ("VLAN id of the peering LAN on a trunk, if tagged.", "100"),
    "peering_lan.storm_pps": ("Storm control: broadcast and multicast packets per second each "
                              "member port may send (each kind separately); more are dropped "
                              "and counted.", "100"),
    "peering_lan.storm_burst": ("Storm control: burst allowed above storm_pps.", "100"),
    "peering_lan.traffic_matrix": ("Count the bytes and packets between every pair of members "
                                   "in the kernel, exactly (`ixpctl matrix`, "
                                   "`GET /api/v1/matrix`, `/metrics`).", "true"),
    "route_server": ("The BIRD route server on the peering LAN.", ""),
    "route_server.asn": ("The route server's ASN; it never appears in paths (transparent).",
                         "64511"),
    "route_server.router_id": ("BGP identifier; usually the route server's IPv4 address.",
                               "203.0.113.1"),
    "route_server.ipv4": ("Route server address on the LAN; members peer with it.",
                          "203.0.113.1"),
    "route_server.ipv6": ("Route server IPv6 address on the LAN.", "2001:db8:eeee::1"),
    "route_server.policy": ("Import policy for every member; see docs/route-server.md.", ""),
    "route_server.policy.ipv4_min_length": ("Shortest IPv4 prefix accepted.", "8"),
    "route_server.policy.ipv4_max_length": ("Longest IPv4 prefix accepted.", "24"),
    "route_server.policy.ipv6_min_length": ("Shortest IPv6 prefix accepted.", "12"),
    "route_server.policy.ipv6_max_length": ("Longest IPv6 prefix accepted.", "48"),
    "route_server.policy.max_as_path_length": ("Longest AS path accepted.", "32"),
    "route_server.policy.reject_bogon_prefixes": ("Refuse private, reserved and "
                                                  "documentation prefixes.", "true"),
    "route_server.policy.reject_bogon_asns": ("Refuse paths with private or reserved ASNs.",
                                              "true"),
    "route_server.policy.enforce_first_as": ("The first ASN of the path must be the member's.",
                                             "true"),
    "route_server.policy.next_hop": ("'strict': next hop must be the member's own address; "
                                     "'same_as': any address of the same ASN.", "strict"),
    "route_server.policy.reject_transit_free_asns": ("Refuse paths through the big transit "
                                                     "networks (route leaks).", "true"),
    "route_server.policy.transit_free_asns": ("The transit-free ASNs for the rule above.",
                                              "[174, 3356]"),
    "route_server.policy.reject_never_via_route_servers": ("Refuse paths through networks "
                                                           "that PeeringDB flags 'never via "
                                                           "route servers' (needs the PeeringDB "
                                                           "dump on the Data page).", "true"),
    "route_server.policy.rpki": ("'reject_invalid', 'tag_only' or 'off'.", "reject_invalid"),
    "route_server.policy.aspa": ("ASPA path verification (upstream procedure) with the ASPA "
                                 "records of the imported VRP file: 'reject_invalid', "
                                 "'tag_only' (the default: few networks publish ASPA yet, and "
                                 "an incomplete provider list would refuse legitimate routes) "
                                 "or 'off'. See docs/route-server.md.", "reject_invalid"),
    "route_server.policy.irr": ("'reject' routes not in the member's AS-SET, 'tag_only', or "
                                "'off'.", "reject"),
    "route_server.policy.roas_as_route_objects": ("Count a route that RPKI finds Valid as "
                                                  "registered for the IRR check, so a member "
                                                  "with a ROA but no IRR route object is not "
                                                  "refused.", "true"),
    "route_server.policy.max_prefix_action": ("What happens when a member sends more than its "
                                              "max-prefix: 'block', 'restart' or 'disable'.",
                                              "restart"),
    "route_server.policy.max_prefix_restart_after": ("With max_prefix_action 'restart': "
                                                     "seconds a session stays down after a "
                                                     "trip (and after any other session "
                                                     "error) before the member may connect "
                                                     "again.", "900"),
    "route_server.policy.blackhole": ("Accept RFC 7999 BLACKHOLE-tagged more-specifics.", "true"),
    "route_server.policy.graceful_shutdown": ("Honour RFC 8326 GRACEFUL_SHUTDOWN.", "true"),
    "route_server.policy.deny": ("The operator's deny list for every member: refused with "
                                 "reasons of their own (see docs/route-server.md).", ""),
    "route_server.policy.deny.prefixes": ("Prefixes refused with all their more-specifics.",
                                          "[198.51.100.0/24]"),
    "route_server.policy.deny.asns": ("ASNs refused anywhere in the AS path.", "[64511]"),
    "route_server.blackhole_ipv4": ("Next hop given to every accepted IPv4 blackhole route: "
                                    "an unused address on the peering LAN. The bridge "
                                    "answers ARP for it with `blackhole_mac` and drops what "
                                    "members send there, at their own port. Unset: the "
                                    "member's own next hop stays.", "203.0.113.66"),
    "route_server.blackhole_ipv6": ("The same for IPv6 blackhole routes (neighbour "
                                    "discovery is answered with `blackhole_mac`).",
                                    "2001:db8:eeee::66"),
    "route_server.blackhole_mac": ("The MAC members' routers learn for the blackhole "
                                   "addresses; frames to it are dropped at the sender's "
                                   "port and counted (reason `blackhole`). A unicast MAC "
                                   "no member uses.", "66:66:66:66:66:66"),
    "route_server.rpki_validators": ("RTR servers (stayrtr on the box, or your own).", ""),
    "route_server.rpki_validators[].host": ("Validator name or address.", "127.0.0.1"),
    "route_server.rpki_validators[].port": ("RTR port.", "323"),
    "route_server.irr_sources": ("IRR databases consulted, in order.", "[RIPE, APNIC]"),
    "route_server.refresh": ("When the box, online, fetches the route server's filter "
                             "data again by itself: the IRR prefix lists (bgpq4) and the "
                             "PeeringDB data (max-prefix, AS-SETs, never-via-route-servers). "
                             "A change is applied as a revision by \"refresh\" saying what "
                             "changed per member; offline, the data in force stays "
                             "(docs/operations.md, Data that refreshes itself).", ""),
    "route_server.refresh.enabled": ("Refresh on the schedule below (the image's "
                                     "`ixp-data-refresh.timer`, the lab's runner); off, only "
                                     "`ixpctl data refresh` and uploads change the data.",
                                     "true"),
    "route_server.refresh.irr_hours": ("Hours between two IRR refreshes (1 to 168).", "12"),
    "route_server.refresh.peeringdb_hours": ("Hours between two PeeringDB refreshes (1 to "
                                             "720).", "24"),
    "route_server.refresh.stale_days": ("Days after which the status (and the alerts) call "
                                        "the data stale when no refresh succeeded; more than "
                                        "either interval.", "7"),
    "route_server.refresh.peeringdb_url": ("A mirror of PeeringDB's API to ask instead; "
                                           "unset, PeeringDB's own "
                                           "(https://www.peeringdb.com/api).",
                                           "https://peeringdb.example.net/api"),
    "members": ("The networks connected to the IXP.", ""),
    "members[].asn": ("The member's public ASN (64500, AS64500 or asdot 1.10).", "64500"),
    "members[].name": ("Organisation name.", "Island Telecom"),
    "members[].noc_email": ("Member NOC contact; it gets the monthly report card "
                            "(alerts.monthly_report).", "noc@member.example.net"),
    "members[].monthly_report": ("Mail this member its monthly report card (to noc_email, "
                                 "when alerts.monthly_report is on); false: none.", "true"),
    "members[].ports": ("The member's ports: NIC names, or {interface, vlan}.", "[eth3]"),
    "members[].ports[].interface": ("NIC of the box the member is cabled to.", "eth3"),
    "members[].ports[].vlan": ("VLAN id when the member arrives tagged on a trunk.", "201"),
    "members[].macs": ("MAC address(es) of the member's router; only these may send.",
                       "['02:00:5e:10:00:01']"),
    "members[].ipv4": ("The member's IPv4 address(es) on the peering LAN.", "[203.0.113.10]"),
    "members[].ipv6": ("The member's IPv6 address(es) on the peering LAN.",
                       "['2001:db8:eeee::10']"),
    "members[].max_prefix": ("Most prefixes the route server accepts from this member.", ""),
    "members[].max_prefix.ipv4": ("IPv4 max-prefix. Left at the default (100), the number the "
                                  "network publishes in PeeringDB (info_prefixes4) is used "
                                  "when the box's PeeringDB dump has its ASN.", "100"),
    "members[].max_prefix.ipv6": ("IPv6 max-prefix; left at the default (100), PeeringDB's "
                                  "info_prefixes6 when the dump has the ASN.", "100"),
    "members[].as_set": ("The member's IRR AS-SET (or its ASN) for prefix filtering; starts "
                         "with a letter (AS-..., ASnnn, or SOURCE::...).", "AS-ISLANDTEL"),
    "members[].route_server": ("Whether the member peers with the route server.", "true"),
    "members[].md5_password": ("TCP MD5 password of the BGP session, if the member wants one "
                               "(shown to admins only).",
                               "s3cret"),
    "members[].quarantine": ("New port in quarantine: only ARP/ND and BGP to the route server "
                             "pass until released.", "false"),
    "members[].bfd": ("Bidirectional Forwarding Detection on this member's sessions: a dead "
                      "link is noticed in about a second instead of the BGP hold time. Only "
                      "when the member's router runs BFD too, or the session stays down.",
                      "false"),
    "members[].ttl_security": ("GTSM (RFC 5082): accept BGP packets only with TTL 255, so "
                               "nobody off the LAN can reach the session. Both sides must "
                               "enable it.", "false"),
    "members[].deny": ("This member's own deny list, added to route_server.policy.deny.", ""),
    "members[].deny.prefixes": ("Prefixes refused from this member, with their "
                                "more-specifics.", "[198.51.100.0/24]"),
    "members[].deny.asns": ("ASNs refused anywhere in this member's paths.", "[64511]"),
    "members[].root_instance": ("Marks this member as a root name server instance hosted at "
                                "the IXP: its session then accepts only its root operator's "
                                "prefixes, and their NO_EXPORT is kept.", ""),
    "members[].root_instance.letter": ("Which root server (a to m) this instance serves.", "l"),
    "members[].root_instance.prefixes": ("Further service prefixes the root operator listed, "
                                         "besides the one covering the letter's address.",
                                         "[199.7.83.0/24]"),
    "members[].active_session": ("The route server opens this member's sessions too, "
                                 "instead of only waiting for the member's router.", "false"),
    "members[].prepend_rs_asn": ("Prepend the route server's ASN to paths sent to this "
                                 "member, for routers that require the neighbour's ASN "
                                 "first.", "false"),
    "members[].extended_next_hop": ("RFC 8950: the member's IPv6 sessions carry IPv4 routes "
                                    "too, with IPv6 next hops (its router must enable it as "
                                    "well). Needs an IPv6 address.", "false"),
    "members[].add_paths_tx": ("ADD-PATH (RFC 7911): send this member every path the route "
                               "server has for a prefix, not only the best; its router must "
                               "enable ADD-PATH receive.", "false"),
    "members[].blackhole_community": ("A community added to the blackhole routes this member "
                                      "receives: the one its own routers drop traffic for "
                                      "(its RTBH trigger), standard A:B or large A:B:C.",
                                      "64500:666"),
    "members[].policy": ("Overrides of route_server.policy for this member; unset fields "
                         "follow the global policy.", ""),
    "members[].policy.ipv4_max_length": ("Longest IPv4 prefix accepted from this member.", "24"),
    "members[].policy.ipv6_max_length": ("Longest IPv6 prefix accepted from this member.", "48"),
    "members[].policy.max_as_path_length": ("Longest AS path from this member.", "32"),
    "members[].policy.enforce_first_as": ("First-AS check for this member.", "true"),
    "members[].policy.next_hop": ("Next-hop check for this member.", "same_as"),
    "members[].policy.rpki": ("RPKI handling for this member.", "tag_only"),
    "members[].policy.aspa": ("ASPA handling for this member.", "reject_invalid"),
    "members[].policy.irr": ("IRR handling for this member.", "tag_only"),
    "members[].policy.roas_as_route_objects": ("ROAs as route objects for this member.",
                                               "true"),
    "members[].policy.max_prefix_action": ("Max-prefix action for this member.", "block"),
    "members[].policy.max_prefix_restart_after": ("Max-prefix restart hold time for this "
                                                  "member, in seconds.", "300"),
    "members[].policy.blackhole": ("Blackhole acceptance for this member.", "false"),
    "members[].policy.graceful_shutdown": ("Graceful shutdown for this member.", "true"),
    "services": ("Services the box offers to its members.", ""),
    "services.resolver": ("The members' DNS resolver (unbound).", ""),
    "services.resolver.enabled": ("Run the resolver.", "true"),
    "services.resolver.ipv4": ("Resolver addresses: on the LAN or in an anycast prefix.",
                               "[203.0.113.53]"),
    "services.resolver.ipv6": ("Resolver IPv6 addresses.", "['2001:db8:eeee::53']"),
    "services.resolver.local_root": ("Keep a local copy of the root zone (RFC 8806).", "true"),
    "services.resolver.allowed_networks": ("Clients allowed besides the peering LAN and "
                                           "management networks.", "[198.51.100.0/24]"),
    "services.resolver.ip_ratelimit": ("Queries per second answered for one client address; "
                                       "more are dropped. Members' resolvers stay well below; "
                                       "an attack reflected through the box does not.", "500"),
    "services.resolver.ratelimit": ("Queries per second the resolver sends towards one zone's "
                                    "servers (stops random-subdomain floods).", "1000"),
    "services.looking_glass": ("Who may use the looking glass.", ""),
    "services.looking_glass.public": ("Let members read the looking glass without an account "
                                      "(read-only; no configuration or secrets are shown).",
                                      "true"),
    "services.looking_glass.allowed_networks": ("Source networks of Alice-LG servers (or other "
                                                "birdwatcher clients): they read /birdwatcher "
                                                "without a login or token and without the "
                                                "anonymous limits, public glass or not.",
                                                "[192.0.2.20/32]"),
    "services.metrics": ("Who may read /metrics without logging in.", ""),
    "services.metrics.allowed_networks": ("Source networks of Prometheus scrapers, let in "
                                          "without a login or token (a public looking glass "
                                          "opens /metrics to anyone anyway).",
                                          "[192.0.2.0/28]"),
    "services.anycast": ("Service prefixes announced to members only while healthy.", ""),
    "services.anycast[].prefix": ("The service prefix (outside the peering LAN).",
                                  "192.0.2.0/24"),
    "services.anycast[].check": ("The health check that gates the announcement.", ""),
    "services.anycast[].check.query_name": ("Name the resolver is asked for.", "."),
    "services.anycast[].check.interval": ("Seconds between checks.", "10"),
    "services.anycast[].check.timeout": ("Seconds before a check fails.", "2"),
    "services.anycast[].check.rise": ("Successes before announcing.", "2"),
    "services.anycast[].check.fall": ("Failures before withdrawing.", "2"),
    "snmp": ("The read-only SNMP agent.", ""),
    "snmp.enabled": ("Run the agent.", "true"),
    "snmp.port": ("UDP port.", "161"),
    "snmp.location": ("sysLocation.", "Exchange building, rack 1"),
    "snmp.communities": ("SNMPv2c communities (compatible mode).", ""),
    "snmp.communities[].community": ("The community string (6+ characters, not 'public').",
                                     "n0c-r3ad"),
    "snmp.communities[].allowed_networks": ("Only these sources may use it.",
                                            "[192.0.2.0/24]"),
    "snmp.users": ("SNMPv3 users (recommended; always authPriv).", ""),
    "snmp.users[].name": ("User name.", "librenms"),
    "snmp.users[].auth_protocol": ("SHA-256, SHA-384 or SHA-512.", "SHA-256"),
    "snmp.users[].auth_password": ("Authentication pass phrase (8+ characters).",
                                   "long-auth-phrase"),
    "snmp.users[].priv_protocol": ("Privacy protocol.", "AES-128"),
    "snmp.users[].priv_password": ("Privacy pass phrase (8+ characters).", "long-priv-phrase"),
    "snmp.users[].allowed_networks": ("Source networks this user may poll from (empty: any "
                                      "that reaches the management address).",
                                      "[192.0.2.0/24]"),
    "alerts": ("What the box tells the operator by itself, and how (docs/alerts.md).", ""),
    "alerts.enabled": ("Check the rules every collector round and send what opens and "
                       "resolves; off: no rule is checked.", "true"),
    "alerts.quiet_minutes": ("After an alert was sent, the same alert opening again within "
                             "this time is recorded but not sent (nor its resolution).", "30"),
    "alerts.rules": ("Each alert: on or off, and its threshold.", ""),
    "alerts.rules.session_down": ("A member's BGP session is not Established.", ""),
    "alerts.rules.session_down.enabled": ("Raise it.", "true"),
    "alerts.rules.session_down.minutes": ("Only once it lasted this long (0: at once).", "5"),
    "alerts.rules.max_prefix": ("A member sent more routes than its max-prefix limit; "
                                "resolved when its session is up and under the limit.", ""),
    "alerts.rules.max_prefix.enabled": ("Raise it.", "true"),
    "alerts.rules.port_down": ("A member's port has no link (or is missing).", ""),
    "alerts.rules.port_down.enabled": ("Raise it.", "true"),
    "alerts.rules.port_down.minutes": ("Only once it lasted this long.", "1"),
    "alerts.rules.hygiene_drops": ("A member's port sends frames the peering LAN's hygiene "
                                   "rules drop (one alert per port and reason).", ""),
    "alerts.rules.hygiene_drops.enabled": ("Raise it.", "true"),
    "alerts.rules.hygiene_drops.per_minute": ("Dropped frames per minute, over one collector "
                                              "round, above which it fires.", "10"),
    "alerts.rules.filtered_routes": ("A member announces routes the route server refuses as "
                                     "RPKI Invalid or not registered in the IRR.", ""),
    "alerts.rules.filtered_routes.enabled": ("Raise it.", "true"),
    "alerts.rules.filtered_routes.minutes": ("Only once it lasted this long.", "60"),
    "alerts.rules.filter_data_stale": ("The route server's RPKI (VRP file) or IRR data is "
                                       "old.", ""),
    "alerts.rules.filter_data_stale.enabled": ("Raise it.", "true"),
    "alerts.rules.filter_data_stale.days": ("Older than this many days.", "7"),
    "alerts.rules.anycast_withdrawn": ("The resolver's anycast prefix is withdrawn (its "
                                       "health check fails, or the helper stopped).", ""),
    "alerts.rules.anycast_withdrawn.enabled": ("Raise it.", "true"),
    "alerts.rules.anycast_withdrawn.minutes": ("Only once it lasted this long.", "1"),
    "alerts.rules.root_zone_stale": ("The resolver's local root copy is stale or expired.",
                                     ""),
    "alerts.rules.root_zone_stale.enabled": ("Raise it.", "true"),
    "alerts.rules.disk_full": ("The data disk (the state directory's) is almost full.", ""),
    "alerts.rules.disk_full.enabled": ("Raise it.", "true"),
    "alerts.rules.disk_full.percent": ("Fuller than this.", "90"),
    "alerts.rules.firmware_rolled_back": ("A firmware update failed its health gate and the "
                                          "box went back to the previous system (an event).",
                                          ""),
    "alerts.rules.firmware_rolled_back.enabled": ("Raise it.", "true"),
    "alerts.rules.config_applied": ("A configuration revision was applied (information; an "
                                    "event).", ""),
    "alerts.rules.config_applied.enabled": ("Raise it.", "true"),
    "alerts.email": ("Alert mail through your SMTP relay.", ""),
    "alerts.email.enabled": ("Send alerts by mail (relay, sender and recipients needed).",
                             "true"),
    "alerts.email.relay": ("The relay's name or address.", "smtp.example.net"),
    "alerts.email.port": ("The relay's port (587: submission with STARTTLS).", "587"),
    "alerts.email.starttls": ("STARTTLS before logging in; the relay's certificate is checked "
                              "against the system's CAs.", "true"),
    "alerts.email.username": ("Login at the relay (with smtp_password); unset: no login.",
                              "ixp-alerts"),
    "alerts.email.smtp_password": ("The relay login's password (secret).", "mail-pass-phrase"),
    "alerts.email.sender": ("The From address.", "ixp@example.net"),
    "alerts.email.recipients": ("Who gets the mail (up to 16).", "[noc@example.net]"),
    "alerts.webhooks": ("URLs that get each alert as a JSON POST (up to 8).", ""),
    "alerts.webhooks[].url": ("http:// or https:// URL (https certificates are checked).",
                              "https://chat.example.net/hooks/ixp"),
    "alerts.webhooks[].hmac_secret": ("Signs the body: header X-IXP-Signature: sha256=<hex "
                                      "HMAC-SHA256> (secret, 16+ characters).",
                                      "a-long-shared-secret"),
    "alerts.syslog": ("Remote syslog servers (RFC 5424, facility local0; up to 8).", ""),
    "alerts.syslog[].host": ("Server name or address.", "192.0.2.20"),
    "alerts.syslog[].port": ("Server port.", "514"),
    "alerts.syslog[].transport": ("udp (one datagram) or tcp (RFC 6587 octet counting).",
                                  "udp"),
    "alerts.snmp_managers": ("SNMP managers that get SNMPv2c traps or SNMPv3 informs "
                             "(BGP4-MIB, IF-MIB and the box's own; up to 8).", ""),
    "alerts.snmp_managers[].host": ("Manager name or address.", "192.0.2.21"),
    "alerts.snmp_managers[].port": ("Manager's trap port.", "162"),
    "alerts.snmp_managers[].version": ("v2c: traps with a community; v3: informs (the manager "
                                       "acknowledges each), authPriv.", "v3"),
    "alerts.snmp_managers[].community": ("v2c: the trap community (secret, 6+ characters).",
                                         "trap-community"),
    "alerts.snmp_managers[].user": ("v3: the USM user the manager knows (with its own engine "
                                    "ID: the manager is authoritative for informs).",
                                    "ixp-alerts"),
    "alerts.snmp_managers[].auth_protocol": ("v3: SHA-256, SHA-384 or SHA-512.", "SHA-256"),
    "alerts.snmp_managers[].auth_password": ("v3: authentication pass phrase (secret, 8+ "
                                             "characters).", "long-auth-phrase"),
    "alerts.snmp_managers[].priv_protocol": ("v3: privacy protocol.", "AES-128"),
    "alerts.snmp_managers[].priv_password": ("v3: privacy pass phrase (secret, 8+ "
                                             "characters).", "long-priv-phrase"),
    "alerts.monthly_report": ("Each member's report card of the past calendar month, mailed "
                              "once to its noc_email early in the next month through the "
                              "alert mail's relay and sender (docs/alerts.md).", ""),
    "alerts.monthly_report.enabled": ("Send the monthly report cards. Nothing goes out "
                                      "until alerts.email is enabled (and alerts.enabled is "
                                      "on); a member opts out with its own monthly_report.",
                                      "true"),
    "alerts.monthly_report.copy_to_operator": ("Send a hidden copy (Bcc) of each report to "
                                               "the alert mail's recipients.", "false"),
    "admin_users": ("People who may log in to the web UI. Once a committed revision has an "
                    "admin, a configuration without one (role admin) is refused.", ""),
    "admin_users[].name": ("Login name.", "alice"),
    "admin_users[].password_hash": ("argon2id hash; 'ixpctl user hash-password' makes one.",
                                    "$argon2id$v=19$..."),
    "admin_users[].role": ("'admin' may change things; 'viewer' may only look; 'member' "
                           "sees only its own ASN's pages (report card, onboarding, its row "
                           "of the traffic matrix, its looking-glass sessions).", "admin"),
    "admin_users[].asn": ("For role member only: the ASN of the member the account belongs "
                          "to (a configured member).", "64500"),
}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    out: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        t = stack.pop()
        if isinstance(t, type) and issubclass(t, BaseModel):
            out.append(t)
        stack.extend(typing.get_args(t))
    return out


def _is_list(annotation: Any) -> bool:
    stack = [annotation]
    while stack:
        t = stack.pop()
        if typing.get_origin(t) is list:
            return True
        if typing.get_origin(t) in (typing.Union, types.UnionType, typing.Annotated):
            stack.extend(typing.get_args(t))
    return False


_NAMES = {int: "integer", str: "text", bool: "true/false",
          ipaddress.IPv4Address: "IPv4 address", ipaddress.IPv6Address: "IPv6 address",
          ipaddress.IPv4Network: "IPv4 prefix", ipaddress.IPv6Network: "IPv6 prefix",
          ipaddress.IPv4Interface: "IPv4 address/len", ipaddress.IPv6Interface: "IPv6 address/len",
          type(None): ""}


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is list:
        return f"list of {_type_name(typing.get_args(annotation)[0])}"
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(a) for a in typing.get_args(annotation)]
        return " or ".join(dict.fromkeys(p for p in parts if p))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    if getattr(annotation, "__name__", "") == "EmailStr":
        return "e-mail address"
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(see below)"
    if value is None:
        return "none"
    if isinstance(value, list):
        return "`[]`" if not value else "`[" + ", ".join(map(str, value)) + "]`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def fields() -> list[tuple[str, FieldInfo]]:
    """Every field of the model, with its dotted path, depth first, once each."""
    out: list[tuple[str, FieldInfo]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            path = f"{prefix}.{name}" if prefix else name
            out.append((path, info))
            for sub in dict.fromkeys(_models_in(info.annotation)):
                walk(sub, path + ("[]" if _is_list(info.annotation) else ""))

    walk(IXPConfig, "")
    return out


def render_reference() -> str:
    """The whole of docs/config.md."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python -m appliance.config.reference > docs/config.md`; "
        "edit appliance/config/reference.py instead. -->",
        "",
        "The appliance is configured by one YAML file (or, the same thing, the setup wizard and "
        "the admin UI). `ixpctl validate -c FILE` checks it and lists every problem as "
        "`path.to.field: what is wrong and what to do`; `ixpctl apply -c FILE` applies it. "
        "Unknown keys are errors, so a misspelt setting is never silently ignored. "
        "A complete example is `examples/small-island.yaml`.",
        "",
        "Rules that involve several fields are checked too: member addresses must lie inside "
        "the peering LAN and not be its network, broadcast, route-server or service addresses; "
        "no address, MAC or port may belong to two members; prefixes may not have host bits "
        "set; IPv4 values may not be given where IPv6 is expected (and the reverse); members "
        "need public ASNs (AS 0, 23456, reserved, private and documentation ASNs are refused "
        "unless `lab: true`).",
        "",
    ]
    section = None
    for path, info in fields():
        top = path.split(".")[0].split("[")[0]
        if top != section:
            section = top
            lines += ["", f"## `{top}`", "", "| field | type | default | meaning | example |",
                      "|---|---|---|---|---|"]
        text, example = DESCRIPTIONS[path]
        ex = f"`{example}`" if example else ""
        lines.append(f"| `{path}` | {_type_name(info.annotation)} | {_default(info)} | "
                     f"{text} | {ex} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_reference(), end="")
