"""Where the agent's files are, in a module of its own: the units' wrapper and the pipeline
need the names, not the SNMP stack or the model that the modules defining them import."""

from __future__ import annotations

AGENT_FILE = "snmp/agent.json"  # under the state dir's etc/
PID_FILE = "snmp-agent.pid"  # under the state dir's run/
