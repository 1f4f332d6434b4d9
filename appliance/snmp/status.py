"""The SNMP agent's state as plain data, for ``ixpctl services`` and the status model."""

from __future__ import annotations

from pathlib import Path

from appliance.snmp.paths import PID_FILE


def running_agent_pid(run_dir: Path) -> int | None:
    """The PID in ``run_dir/snmp/agent.pid`` if that process is alive and is our agent."""
    try:
        pid = int((run_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if is_agent(pid, run_dir.parent) else None


def is_agent(pid: int, state_dir: Path) -> bool:
    """Whether ``pid`` is the agent of ``state_dir`` (not a zombie, not a process that reused
    the number, not another state directory's agent)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    # A stale PID file may name a process that reused the number: never signal a stranger.
    return b"appliance.snmp" in argv and str(state_dir).encode() in argv


def snmp_status(state_dir: Path) -> dict[str, object]:
    """Whether the agent of ``state_dir`` runs, and its PID."""
    pid = running_agent_pid(Path(state_dir) / "run")
    return {"running": pid is not None, "pid": pid}
