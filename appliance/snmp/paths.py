"""Where the agent's files are, in a module of its own: the units' wrapper and the pipeline
need the names, not the SNMP stack or the model that the modules defining them import."""

from __future__ import annotations

AGENT_FILE = "snmp/agent.json"  # under the state dir's etc/
# The agent's own user on the image (systemd/ixp-snmp.service): the only group that may read
# its configuration (communities, v3 keys) besides root.
AGENT_GROUP = "ixp-snmp"
PID_FILE = "snmp/agent.pid"  # under the state dir's run/ (a folder the agent may own)
# Off the image (a lab, the dev runner) the agent listens on the host's loopback beside the
# dev web UI, whatever snmp.port says (no port 161, no management NIC): here by default, or
# where the dev runner was told (``Runner(snmp_port=...)``), recorded in this file under
# run/ so that every apply (the CLI's, the web UI's) starts it on the same address.
DEV_LISTEN = "127.0.0.1:1161"
LISTEN_FILE = "snmp/listen"  # under run/
LOG_FILE = "snmp/agent.log"  # under run/: the spawned agent's output (the journal's, on the image)
