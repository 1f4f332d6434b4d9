"""The committed configuration is parsed once per revision, and only the newest is kept.

Issue 14: a cache of several revisions kept each old 1000-member model resident in the web UI
after every change; a new revision must replace the old model, not sit beside it.
"""

from __future__ import annotations

import gc
import weakref

import yaml

from appliance.config.committed import committed_config
from appliance.config.generate import synthetic_data
from appliance.config.revisions import RevisionStore


def _commit(store: RevisionStore, name: str) -> None:
    data = synthetic_data(3, name=name)
    store.commit(yaml.safe_dump(data), "test", name)


def test_one_parse_per_revision_and_the_old_model_is_let_go(tmp_path):
    store = RevisionStore(tmp_path)
    assert committed_config(tmp_path) is None
    _commit(store, "First IXP")
    first = committed_config(tmp_path)
    assert first is not None and first.identity.name == "First IXP"
    assert committed_config(tmp_path) is first  # the same revision: not parsed again
    old = weakref.ref(first)
    del first
    _commit(store, "Second IXP")
    second = committed_config(tmp_path)
    assert second is not None and second.identity.name == "Second IXP"
    gc.collect()
    assert old() is None, "the previous revision's model is still held"
    assert committed_config(tmp_path) is second


def test_each_state_dir_keeps_its_own(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _commit(RevisionStore(a), "IXP A")
    _commit(RevisionStore(b), "IXP B")
    cfg_a, cfg_b = committed_config(a), committed_config(b)
    assert cfg_a is not None and cfg_a.identity.name == "IXP A"
    assert cfg_b is not None and cfg_b.identity.name == "IXP B"
    assert committed_config(a) is cfg_a and committed_config(b) is cfg_b
