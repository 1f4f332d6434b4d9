"""What goes into a BIRD command line is checked whole: a trailing newline would end the
command and start another (issue 16 item 9: `$` matches before a final newline)."""

from __future__ import annotations

import pytest

from appliance.platform.bird.control import BirdControl, _name


@pytest.mark.parametrize("bad", ["rs_m1\n", "rs_m1\nshow status", "1abc", "a b", ""])
def test_names_are_checked_whole(bad):
    with pytest.raises(ValueError):
        _name(bad)
    assert _name("rs_m1_64496") == "rs_m1_64496"


@pytest.mark.parametrize("bad", ["192.0.2.0/24\n", "192.0.2.0/24\nshow status", "::/0 x"])
def test_prefixes_are_checked_whole(bad):
    bc = BirdControl("/nonexistent/bird.ctl")
    with pytest.raises(ValueError, match="is not a prefix"):
        bc.routes(prefix=bad)
