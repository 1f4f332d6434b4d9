"""Module-scoped SNMP lab: the agent starts once per test module."""

from __future__ import annotations

import os
import shutil

import pytest

from appliance.lab import netns
from tests.snmp.snmplab import Lab, build_lab, lab_config, remove_lab


def _need(tool: str, package: str) -> None:
    if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
        pytest.fail(f"{tool} is missing: install the Debian package {package}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    """Namespaces + a running agent configured from the example with SNMP on."""
    if os.geteuid() != 0:
        pytest.fail("the SNMP lab creates network namespaces and must run as root")
    for tool in ("snmpget", "snmpwalk", "snmpbulkwalk", "snmptable", "snmpset"):
        _need(tool, "snmp")
    prefix = netns.unique_prefix("ixt")
    state = tmp_path_factory.mktemp("snmp-state")
    try:
        lab = build_lab(prefix, state)
        lab.write_config(lab_config())
        lab.start()
        yield lab
    finally:
        if "lab" in locals():
            lab.stop()
        remove_lab(prefix)
