"""A command on a lab's state dir runs the daemons (and nft) the lab runs, also from a shell
without IXP_SHIPPED_ROOT: mixing Debian 12's and 13's nft on one ruleset fails."""

from __future__ import annotations

import os

from appliance.cli.common import follow_lab_daemons
from appliance.lab.lab import LabState
from appliance.platform import shipped


def test_the_lab_records_its_daemons_and_a_later_command_follows(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    (tree / "usr" / "sbin").mkdir(parents=True)
    (tree / "usr" / "sbin" / "bird").touch()
    LabState("ixl-x", "ixl-x-ixp", 1, [], shipped_root=str(tree)).save(tmp_path)
    assert LabState.load(tmp_path).shipped_root == str(tree)
    monkeypatch.delenv(shipped.ENV, raising=False)
    follow_lab_daemons(tmp_path)
    assert os.environ[shipped.ENV] == str(tree) and shipped.root() == tree
    # a shell that says which daemons (empty: the host's) is obeyed, never overridden
    monkeypatch.setenv(shipped.ENV, "")
    follow_lab_daemons(tmp_path)
    assert os.environ[shipped.ENV] == "" and shipped.root() is None


def test_an_old_lab_record_without_the_field_still_loads(tmp_path, monkeypatch):
    (tmp_path / "lab.json").write_text('{"prefix": "ixl-y", "appliance_netns": "ixl-y-ixp", '
                                       '"prefixes_per_member": 1, "members": []}')
    monkeypatch.delenv(shipped.ENV, raising=False)
    follow_lab_daemons(tmp_path)
    assert shipped.ENV not in os.environ
