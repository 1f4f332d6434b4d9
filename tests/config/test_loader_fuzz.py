"""Fuzz the loader: whatever the file holds, the answer is a config or a ConfigError."""

from __future__ import annotations

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.config.errors import ConfigError
from appliance.config.loader import config_from_data, load_config_text

from ..conftest import EXAMPLE

BASE = yaml.safe_load(EXAMPLE.read_text())

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["dhcp", "AS64500", "203.0.113.7", "2001:db8::1", "10.0.0.0/8",
                     "02:00:00:00:00:01", "ixp1", "\u202e\u0000", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "9" * 400]),
)
values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=12)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


ALL_PATHS = [p for p in _paths(BASE) if p]


def _outcome(fn, arg):
    try:
        fn(arg)
    except ConfigError as exc:
        assert exc.issues, "a ConfigError must carry at least one issue"
        for issue in exc.issues:
            assert isinstance(issue.message, str) and issue.message
    # any other exception propagates and fails the test


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text(text):
    _outcome(load_config_text, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_random_structures(data):
    _outcome(config_from_data, data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_PATHS), values)
def test_one_field_replaced_by_anything(path, value):
    data = copy.deepcopy(BASE)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    _outcome(config_from_data, data)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ALL_PATHS))
def test_one_field_removed(path):
    data = copy.deepcopy(BASE)
    node = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    _outcome(config_from_data, data)
