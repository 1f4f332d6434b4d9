"""Memory by service, read from the units' cgroups as the kernel counts it."""

from __future__ import annotations

from pathlib import Path

from appliance.monitor.health import oom_kills, service_memory


def _unit(root: Path, name: str, current: str, peak: str | None) -> None:
    d = root / name
    d.mkdir(parents=True)
    (d / "memory.current").write_text(current + "\n")
    if peak is not None:
        (d / "memory.peak").write_text(peak + "\n")


def test_reads_each_ixp_unit_and_the_slice_peak(tmp_path: Path):
    _unit(tmp_path, "ixp-web.service", "41943040", "52428800")
    _unit(tmp_path, "ixp-bird.service", "8388608", None)  # a kernel without memory.peak
    _unit(tmp_path, "ssh.service", "1048576", "2097152")  # not ours: not counted
    (tmp_path / "ixp-broken.service").mkdir()  # no counters (unit stopping): skipped
    (tmp_path / "memory.current").write_text("300000000\n")
    (tmp_path / "memory.peak").write_text("600000000\n")
    mem = service_memory(tmp_path)
    assert mem["units"] == {"ixp-bird": {"current": 8388608, "peak": None},
                            "ixp-web": {"current": 41943040, "peak": 52428800}}
    assert mem["total_current"] == 41943040 + 8388608
    assert mem["system_peak"] == 600000000


def test_nothing_off_systemd(tmp_path: Path):
    assert service_memory(tmp_path / "missing") == {}


def test_oom_kills_from_vmstat(tmp_path: Path):
    vmstat = tmp_path / "vmstat"
    vmstat.write_text("nr_free_pages 1000\noom_kill 2\n")
    assert oom_kills(vmstat) == 2
    assert oom_kills(tmp_path / "none") is None
    assert isinstance(oom_kills(), int)  # this kernel has the counter (Linux 4.13+)
