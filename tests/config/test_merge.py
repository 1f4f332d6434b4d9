"""Three-way merge of configuration data (config/merge.py): replaying a change made on an
older revision onto the committed one."""

from __future__ import annotations

import pytest

from appliance.config.merge import MergeConflict, merge3

BASE = {"identity": {"name": "IX", "country": "FJ"},
        "members": [{"asn": 1, "name": "A", "ipv4": ["10.0.0.1"]},
                    {"asn": 2, "name": "B", "ipv4": ["10.0.0.2"]}],
        "admin_users": [{"name": "noc", "role": "admin"}]}


def _with(**over):
    return {**BASE, **over}


def test_edits_of_different_members_and_sections_both_land():
    ours = _with(members=[*BASE["members"], {"asn": 3, "name": "C"}])  # adds AS3
    theirs = _with(members=[BASE["members"][0]],  # removed AS2
                   identity={"name": "IX", "country": "WS"})
    merged = merge3(BASE, ours, theirs)
    assert [m["asn"] for m in merged["members"]] == [1, 3]
    assert merged["identity"] == {"name": "IX", "country": "WS"}


def test_two_settings_of_one_member_merge_field_by_field():
    ours = _with(members=[{**BASE["members"][0], "name": "A2"}, BASE["members"][1]])
    theirs = _with(members=[{**BASE["members"][0], "ipv4": ["10.0.0.9"]}, BASE["members"][1]])
    assert merge3(BASE, ours, theirs)["members"][0] == {"asn": 1, "name": "A2",
                                                       "ipv4": ["10.0.0.9"]}


def test_the_same_setting_changed_differently_is_a_conflict_naming_it():
    ours = _with(identity={"name": "Ours", "country": "FJ"},
                 members=[{**BASE["members"][0], "name": "A-ours"}, BASE["members"][1]])
    theirs = _with(identity={"name": "Theirs", "country": "FJ"},
                   members=[{**BASE["members"][0], "name": "A-theirs"}, BASE["members"][1]])
    with pytest.raises(MergeConflict) as err:
        merge3(BASE, ours, theirs)
    assert err.value.paths == ["identity.name", "members[asn=1].name"]


def test_removed_on_one_side_changed_on_the_other_is_a_conflict():
    ours = _with(members=[BASE["members"][1]])  # removes AS1
    theirs = _with(members=[{**BASE["members"][0], "name": "A2"}, BASE["members"][1]])
    with pytest.raises(MergeConflict, match=r"members\[asn=1\]"):
        merge3(BASE, ours, theirs)


def test_the_same_change_on_both_sides_is_no_conflict():
    both = _with(identity={"name": "Same", "country": "FJ"})
    assert merge3(BASE, both, both) == both


def test_lists_without_identity_are_single_values():
    base = {"ntp": ["a", "b"]}
    assert merge3(base, {"ntp": ["a"]}, base) == {"ntp": ["a"]}
    with pytest.raises(MergeConflict, match="ntp"):
        merge3(base, {"ntp": ["a"]}, {"ntp": ["b"]})
