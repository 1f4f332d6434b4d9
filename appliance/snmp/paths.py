"""Where the agent's files are, in a module of its own: the units' wrapper and the pipeline
need the names, not the SNMP stack or the model that the modules defining them import."""

from __future__ import annotations

AGENT_FILE = "snmp/agent.json"  # under the state dir's etc/
# The agent's own user on the image (systemd/ixp-snmp.service): the only group that may read
# its configuration (communities, v3 keys) besides root.
AGENT_GROUP = "ixp-snmp"
PID_FILE = "snmp/agent.pid"  # under the state dir's run/ (a folder the agent may own)
