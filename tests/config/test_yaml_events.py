"""parse_yaml builds the document from the parser's events (config/loader.py, issue 14's
memory bound): the same data as PyYAML's safe loader, the same refusals."""

from __future__ import annotations

import pytest
import yaml

from appliance.config.errors import ConfigError
from appliance.config.generate import synthetic_data
from appliance.config.loader import parse_yaml

from ..conftest import EXAMPLE


def _pyyaml(text: str):
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@pytest.mark.parametrize("text", [
    "", "---\n", "a: 1\nb: [1, 2, {c: d}]\n", "- - - 1\n  - 2\n- {a: [1, {b: c}]}\n",
    "a: 2001-12-14t21:59:43.10-05:00\nb: !!binary aGVsbG8=\nc: 0x1F\nd: 1_000\ne: .inf\n"
    "f: ~\ng: yes\nh: '1'\ni: !!str 12\nj: 1.5\nk: 2024-01-31\n",
    "a: 1\na: 2\n", "a: &anchor 1\n",
    # what only PyYAML's composer does: taken the old way, same result
    "x: !!set {a, b}\n", "<<: {a: 1}\nb: 2\n", "x: !!omap [{a: 1}]\n",
])
def test_same_data_as_pyyamls_safe_loader(text):
    assert parse_yaml(text) == _pyyaml(text)


def test_same_data_for_the_example_and_a_thousand_members():
    text = EXAMPLE.read_text()
    assert parse_yaml(text) == _pyyaml(text)
    big = yaml.safe_dump(synthetic_data(1000))
    assert parse_yaml(big) == _pyyaml(big)


@pytest.mark.parametrize(("text", "words"), [
    ("a: &x 1\nb: *x\n", "line 2: YAML aliases"),
    ("x: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels"),
    ("a: 1\n---\nb: 2\n", "found another document"),
    ("? [1, 2]\n: x\n", "unhashable"),
    ("a: !!python/object:os.system ls\n", "could not determine a constructor"),
    ("x: !!map foo\n", "expected a mapping node"),
    ("a: [unclosed\n", "line 2"),
])
def test_same_refusals_each_a_config_error(text, words):
    with pytest.raises(ConfigError) as exc:
        parse_yaml(text)
    assert words in str(exc.value)
