"""A restore killed with SIGKILL at any moment leaves the old state or the restored one, once
the next run has recovered (as every backup, restore and the setup page do first)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from appliance.backup.restore import create, recover
from tests.backup.conftest import durable, make_box

RESTORER = """
import sys
from pathlib import Path
from appliance.backup.restore import restore
state = Path(sys.argv[1])
backups = [Path(p).read_bytes() for p in sys.argv[2:]]
i = 0
while True:
    restore(state, backups[i % 2], force=True)
    i += 1
    print(i, flush=True)
"""


def test_kill_9_during_restores_leaves_one_whole_state(tmp_path, example_text):
    x, y = make_box(tmp_path / "x", example_text, marker="x"), \
        make_box(tmp_path / "y", example_text, marker="y")
    for n in range(40):  # more files: a longer window to be killed in
        (y / "irr" / f"as-set-{n}.json").write_text("y" * 5000)
    (tmp_path / "x.bak").write_bytes(create(x))
    (tmp_path / "y.bak").write_bytes(create(y))
    wanted = {"x": durable(x), "y": durable(y)}
    target = make_box(tmp_path / "target", example_text, marker="x")
    rng = random.Random(2121)
    seen, interrupted = set(), []
    for _ in range(25):
        proc = subprocess.Popen([sys.executable, "-c", RESTORER, str(target),
                                 str(tmp_path / "x.bak"), str(tmp_path / "y.bak")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.readline()  # at least one whole restore in this round
        began = time.monotonic()
        proc.stdout.readline()  # and one more, timed: how long a restore takes here now
        # kill somewhere in the next restore or just after it, whatever the machine's load
        time.sleep(rng.uniform(0, 1.5 * (time.monotonic() - began)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        interrupted.append(recover(target))
        state = durable(target)
        match = [name for name, files in wanted.items() if files == state]
        assert match, "a killed restore left a mixture of two states"
        seen.add(match[0])
        assert not (target / ".restore").exists()
    assert seen == {"x", "y"}, "the kills should land on both sides of the swap"
    assert any(r and "changed nothing" in r for r in interrupted), "no kill landed inside"


class Died(BaseException):
    """The restoring process stops here (as under kill -9: no clean-up runs)."""


def test_death_at_every_rename_of_the_swap_is_finished_by_recover(tmp_path, example_text,
                                                                   monkeypatch):
    """The window after the commit point is short for random kills: die at each rename."""
    import appliance.backup.restore as restore_mod

    source = make_box(tmp_path / "src", example_text, marker="y")
    raw = create(source)
    real_replace = os.replace
    for k in range(100):
        target = make_box(tmp_path / f"t{k}", example_text, marker="x")
        (target / "rpki" / "only-here.json").write_text("goes")
        before_death = durable(target)
        calls = []

        def dying_replace(a, b, _k=k, _calls=calls):
            if len(_calls) == _k:
                raise Died
            _calls.append(a)
            real_replace(a, b)

        monkeypatch.setattr(restore_mod.os, "replace", dying_replace)
        try:
            restore_mod.restore(target, raw, force=True)
        except Died:
            pass
        else:
            assert k > 10, "the swap should take several renames"
            break
        finally:
            monkeypatch.setattr(restore_mod.os, "replace", real_replace)
        committed = (target / ".restore" / "plan.json").exists()
        recover(target)
        after = durable(target)
        if committed:
            assert after == durable(source), f"died after {k} renames: not finished"
        else:  # died writing the plan (os.replace is its rename too): nothing changed
            assert after == before_death
    else:
        raise AssertionError("restore never completed")
