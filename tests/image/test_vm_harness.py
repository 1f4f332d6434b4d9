"""The qemu harness's own rule for a frozen VM: when the console has been silent in GRUB's menu
(which counts down every second), first Enter, then one reset if that did not help; never
anything while the box boots or runs."""

from __future__ import annotations

import os
import time

from labkit.image import vm


def _box(tmp_path, text: str, age: float) -> vm.Vm:
    box = vm.Vm(tmp_path / "disk.img", tmp_path, uefi=True, name="t")
    box.console_log.write_text(text)
    then = time.time() - age
    os.utime(box.console_log, (then, then))
    box.sent = []  # type: ignore[attr-defined]
    box.monitor_command = box.sent.append  # type: ignore[method-assign]
    box.keys = []  # type: ignore[attr-defined]
    box.child = type("Console", (), {"send": staticmethod(box.keys.append)})()  # type: ignore
    return box


def test_a_console_silent_in_grub_gets_enter_then_one_reset(tmp_path):
    box = _box(tmp_path, "Booting `IXP appliance'\nlogin: \nGNU GRUB  version 2.06\n *IXP",
               vm.STALL_SECONDS + 5)
    box._reset_if_stalled()
    assert box.keys == ["\r"] and box.kicks == 1 and box.sent == [] and box.stalls == 0
    box._reset_if_stalled()  # Enter was just pressed: it gets its time
    assert box.keys == ["\r"] and box.sent == []
    box.kicked_at = time.time() - vm.STALL_SECONDS - 5  # still silent long after Enter
    box._reset_if_stalled()
    assert box.sent == ["system_reset"] and box.stalls == 1 and box.keys == ["\r"]


def test_enter_that_helped_resets_nothing(tmp_path):
    box = _box(tmp_path, "GNU GRUB  version 2.06\n *IXP", vm.STALL_SECONDS + 5)
    box._reset_if_stalled()
    assert box.kicks == 1
    box.console_log.write_text("GNU GRUB\nBooting `IXP appliance'\n[ 1.0] Linux")
    box._reset_if_stalled()
    assert box.kicked_at is None and box.sent == []


def test_no_reset_while_grub_counts_down_or_the_box_runs(tmp_path):
    fresh = _box(tmp_path, "GNU GRUB  version 2.06\n", 5)
    fresh._reset_if_stalled()
    booted = _box(tmp_path, "GNU GRUB\nBooting `IXP appliance'\n[ 1.0] Linux", 600)
    booted._reset_if_stalled()
    running = _box(tmp_path, "GNU GRUB\nBooting `x'\nixp-appliance login: \n banner", 900)
    running._reset_if_stalled()
    assert fresh.sent == booted.sent == running.sent == []
    assert fresh.keys == booted.keys == running.keys == []
    assert fresh.stalls == booted.stalls == running.stalls == 0
