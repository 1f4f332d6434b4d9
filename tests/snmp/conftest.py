"""Module-scoped SNMP labs: the agent starts once per test module."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.snmp.snmplab import KORERO, LONG_LOCATION, LONG_NAME, Lab, lab_config, running_lab


def _need(tool: str, package: str) -> None:
    if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
        pytest.fail(f"{tool} is missing: install the Debian package {package}")


def _preflight() -> None:
    if os.geteuid() != 0:
        pytest.fail("the SNMP lab creates network namespaces and must run as root")
    for tool in ("snmpget", "snmpwalk", "snmpbulkwalk", "snmptable", "snmpset"):
        _need(tool, "snmp")


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    """Namespaces + a running agent configured from the example with SNMP on."""
    _preflight()
    with running_lab(tmp_path_factory.mktemp("snmp-state"), lab_config()) as lab:
        yield lab


@pytest.fixture(scope="module")
def utf8_lab(tmp_path_factory) -> Lab:
    """The same lab with member names and a location outside Latin-1 (issue 13)."""
    _preflight()
    cfg = lab_config(member_names={64496: KORERO, 64497: LONG_NAME}, location=LONG_LOCATION)
    with running_lab(tmp_path_factory.mktemp("snmp-utf8"), cfg) as lab:
        yield lab
