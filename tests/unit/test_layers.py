"""The layers of docs/design/architecture.md, checked on every import in the package.

platform (and util) → config → pipeline → capabilities → composition (box, lab) → front ends.
An import may point down or sideways inside its own folder, never up. Capabilities do not
import each other, except the few reads listed in ``CROSS_READS`` with the reason.

Beside the package: the lab kit (``labkit/``, the harness the tests and the benchmarks share)
imports the package but never ``tests`` or ``bench``; a benchmark never imports a test module;
nothing in the package imports the lab kit.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ..conftest import ROOT

PACKAGE = ROOT / "appliance"
LAYERS = {
    "platform": 0, "util": 0, "__init__": 0,
    "config": 1,
    "pipeline": 2,
    "bridge": 3, "route_server": 3, "resolver": 3, "anycast": 3, "snmp": 3, "firewall": 3,
    "management": 3, "monitor": 3, "export": 3, "backup": 3, "alerts": 3,
    "box": 4, "lab": 4, "firmware": 4, "apply_service": 4,
    "cli": 5, "web": 5, "runner": 5,
}
CAPABILITIES = {name for name, layer in LAYERS.items() if layer == 3}
# (importing folder, imported module): why a capability reads another's module.
CROSS_READS = {
    ("monitor", "appliance.route_server.communities"): "the reject reasons in words (LG)",
    ("monitor", "appliance.route_server.status"): "the sessions the dashboard lists",
    ("monitor", "appliance.resolver.status"): "status read by the dashboard",
    ("monitor", "appliance.anycast.status"): "status read by /metrics",
    ("monitor", "appliance.bridge.status"): "hygiene drop counters for /metrics",
    ("monitor", "appliance.bridge.matrix"): "the collector samples the traffic matrix",
    ("monitor", "appliance.bridge.inventory"): "the ports' link and speed on the dashboard",
    ("monitor", "appliance.bridge.desired"): "the device names of a member's ports (onboarding)",
    ("monitor", "appliance.firewall.status"): "firewall drop counters for /metrics",
    ("snmp", "appliance.anycast.status"): "status read by the SNMP agent",
    ("monitor", "appliance.snmp.status"): "the agent's state in the status model",
    ("snmp", "appliance.resolver.status"): "status read by the SNMP agent",
    ("snmp", "appliance.resolver.paths"): "where the resolver's status lives",
    ("anycast", "appliance.resolver.probe"): "the health check asks the resolver itself",
    ("route_server", "appliance.anycast.names"): "the anycast protocols BIRD announces",
    ("firewall", "appliance.resolver.render"): "who may query the resolver (one ACL)",
    ("alerts", "appliance.route_server.status"): "the sessions and max-prefix trips alerted on",
    ("alerts", "appliance.route_server.communities"): "the reject reasons of filtered routes",
    ("alerts", "appliance.bridge.status"): "hygiene drop counters alerted on",
    ("alerts", "appliance.anycast.status"): "the anycast announcement alerted on",
    ("alerts", "appliance.resolver.status"): "the local root copy's freshness",
    ("alerts", "appliance.snmp.ber"): "one BER encoder for the agent and the traps",
    ("alerts", "appliance.monitor.report"): "the report card mailed monthly to each NOC",
    ("management", "appliance.firewall.safety"): "the admin's NIC the firewall recorded",
}


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports() -> list[tuple[Path, str, str]]:
    """(file, its folder, imported appliance module) for every import in the package."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        me = _folder(".".join(rel.parts))
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("appliance.") and _folder(name) != me:
                    out.append((path, me, name))
    return out


def test_every_folder_has_a_layer():
    folders = {p.name if p.is_dir() else p.stem for p in PACKAGE.iterdir()
               if not p.name.startswith("__") and (p.is_dir() or p.suffix == ".py")}
    assert folders - {"__pycache__"} <= set(LAYERS), sorted(folders - set(LAYERS))


def test_imports_point_down_only():
    up = sorted(f"{p.relative_to(ROOT)}: {name}" for p, me, name in _imports()
                if name.count(".") >= 1 and _folder(name) in LAYERS
                and LAYERS[_folder(name)] > LAYERS[me])
    assert not up, "imports from a lower layer to a higher one:\n" + "\n".join(up)


def test_no_production_module_imports_the_lab_or_the_tests():
    bad = sorted(f"{p.relative_to(ROOT)}: {name}" for p, me, name in _imports()
                 if _folder(name) in ("lab",) and LAYERS[me] < LAYERS["lab"])
    assert not bad, bad
    tests = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
             if "import tests" in p.read_text() or "from tests" in p.read_text()]
    assert not tests, tests


def _top_level_imports(folder: Path) -> list[tuple[str, str]]:
    """(file, top-level package) of every absolute import in the ``.py`` files under
    ``folder``, including those made inside functions."""
    out = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            out += [(str(path.relative_to(folder.parent)), n.split(".")[0]) for n in names]
    return out


def _importers(folder: Path, forbidden: set[str]) -> list[str]:
    return sorted(f"{f}: {top}" for f, top in _top_level_imports(folder) if top in forbidden)


def test_no_benchmark_imports_a_test_module():
    # What a benchmark shares with the tests lives in labkit/, where both may import it.
    bad = _importers(ROOT / "bench", {"tests"})
    assert not bad, "move what the benchmark needs into labkit/:\n" + "\n".join(bad)


def test_the_lab_kit_imports_neither_the_tests_nor_the_benchmarks():
    assert (ROOT / "labkit" / "netlab.py").exists()
    bad = _importers(ROOT / "labkit", {"tests", "bench"})
    assert not bad, bad


def test_nothing_in_the_package_imports_the_lab_kit():
    bad = _importers(PACKAGE, {"labkit", "bench"})
    assert not bad, bad


def test_the_checker_finds_a_benchmark_importing_a_test(tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "b.py").write_text("import sys\n\n\ndef f():\n    from tests.image import x\n")
    assert _importers(bench, {"tests"}) == ["bench/b.py: tests"]


def test_capabilities_import_each_other_only_for_the_listed_reads():
    cross = set()
    for _p, me, name in _imports():
        other = _folder(name)
        # "from appliance.x import y" is checked as appliance.x.y
        if me in CAPABILITIES and other in CAPABILITIES and other != me \
                and name.count(".") >= 2:
            module = ".".join(name.split(".")[:3])
            cross.add((me, module))
    unlisted = sorted(cross - set(CROSS_READS))
    assert not unlisted, ("a capability imports another one: move what both need to the "
                          "platform, or list the read with its reason:\n"
                          + "\n".join(f"{a} → {b}" for a, b in unlisted))
    stale = sorted(set(CROSS_READS) - cross)
    assert not stale, f"listed reads nobody makes any more: {stale}"


def test_the_pipeline_imports_no_capability():
    bad = sorted(f"{p.relative_to(ROOT)}: {name}" for p, me, name in _imports()
                 if me == "pipeline" and LAYERS.get(_folder(name), 9) >= 3)
    assert not bad, bad


def test_the_checker_finds_an_upward_import(tmp_path, monkeypatch):
    # a checker that finds nothing proves nothing: plant one upward import and see it caught
    fake = tmp_path / "appliance"
    (fake / "config").mkdir(parents=True)
    (fake / "config" / "x.py").write_text("from appliance.web import create_app\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    found = [(me, name) for _p, me, name in _imports()]
    assert ("config", "appliance.web.create_app") in found
    assert LAYERS["web"] > LAYERS["config"]


# Where a namespace name may be a parameter: the platform layer (which runs commands and opens
# netlink there) and the lab harness (which makes the namespaces). Everywhere else the place a
# change goes is a ``Target`` (platform/target.py): state directory and namespace together.
NETNS_ALLOWED = ("platform", "lab")


def _netns_parameters() -> list[str]:
    """``file:line function(param)`` for every parameter naming a network namespace outside
    the platform layer and the lab."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in NETNS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg,
                        args.kwarg):
                if arg is not None and "netns" in arg.arg:
                    name = getattr(node, "name", "lambda")
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}({arg.arg})")
    return out


def test_no_netns_parameter_outside_the_platform_and_the_lab():
    found = _netns_parameters()
    assert not found, ("a namespace name as a parameter: take a Target "
                       "(appliance/platform/target.py) instead:\n" + "\n".join(found))


def test_the_netns_checker_finds_a_parameter(tmp_path, monkeypatch):
    # plant one such parameter (and one the platform may have) and see only the first caught
    fake = tmp_path / "appliance"
    (fake / "bridge").mkdir(parents=True)
    (fake / "platform").mkdir()
    (fake / "bridge" / "x.py").write_text("def read(netns: str | None) -> None: ...\n")
    (fake / "platform" / "y.py").write_text("def run(netns: str | None) -> None: ...\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert _netns_parameters() == ["appliance/bridge/x.py:1 read(netns)"]
