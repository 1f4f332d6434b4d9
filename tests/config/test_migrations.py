"""Schema versions and migrations (issue 21 item 6): every released schema keeps loading,
an older one is migrated (the original kept as a revision), a newer one is refused."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import yaml

from appliance import __version__
from appliance.config import migrations
from appliance.config.errors import ConfigError
from appliance.config.loader import dump_config, load_config_file, load_config_text
from appliance.config.migrations import Migration, SchemaError, migrate_data
from appliance.config.model import IXPConfig
from appliance.config.revisions import RevisionStore
from appliance.pipeline.run import Pipeline

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"


def _m0000(data: dict) -> dict:
    """Test-only: a pretend schema 0 had identity.town and a top-level rs_asn."""
    identity = dict(data["identity"])
    identity["city"] = identity.pop("town")
    route_server = dict(data["route_server"])
    route_server["asn"] = data.pop("rs_asn")
    return {**data, "identity": identity, "route_server": route_server}


TEST_MIGRATION = Migration(0, "m0000_test_town_and_rs_asn", "identity.town is now "
                           "identity.city; rs_asn is now route_server.asn", _m0000)


@pytest.fixture
def with_test_migration(monkeypatch):
    """Register the test-only migration as if it shipped in appliance/config/migrations/."""
    monkeypatch.setattr(migrations, "MIGRATIONS", [TEST_MIGRATION, *migrations.MIGRATIONS])


def _load(name: str) -> dict:
    return yaml.safe_load((FIXTURES / name).read_text())


def test_schema_version_is_the_models():
    assert typing.get_args(IXPConfig.model_fields["version"].annotation) == \
        (migrations.SCHEMA_VERSION,)


def test_a_fixture_for_every_released_schema_version_loads():
    for version in range(1, migrations.SCHEMA_VERSION + 1):
        path = FIXTURES / f"schema-{version}.yaml"
        assert path.exists(), f"add {path}: a fixture of schema {version}, as released"
        cfg = load_config_file(path)
        assert cfg.version == migrations.SCHEMA_VERSION
        assert cfg.members, "a fixture should exercise the members too"
    # the revisions stored before version: was written (no version line) are schema 1
    assert load_config_file(FIXTURES / "schema-1-implicit.yaml") == \
        load_config_file(FIXTURES / "schema-1.yaml")


def test_shipped_migrations_form_a_chain_to_the_current_schema():
    shipped = migrations.discover()
    assert [m.from_version for m in shipped] == \
        list(range(migrations.SCHEMA_VERSION - len(shipped), migrations.SCHEMA_VERSION))
    for m in shipped:
        assert m.summary and m.name.startswith(f"m{m.from_version:04d}_")


def test_newer_schema_is_refused_naming_the_firmware():
    text = (FIXTURES / "schema-1.yaml").read_text().replace("version: 1", "version: 7", 1)
    with pytest.raises(ConfigError) as exc:
        load_config_text(text)
    [issue] = exc.value.issues
    assert issue.path == "version"
    assert "schema version 7" in issue.message
    assert f"ixp-appliance {__version__}" in issue.message
    assert f"up to {migrations.SCHEMA_VERSION}" in issue.message
    assert "Install a firmware that reads schema version 7" in issue.message
    with pytest.raises(SchemaError, match=r"ixp-appliance 9\.9 or newer"):
        raise SchemaError(migrations.newer_message(7, written_by="9.9"))


@pytest.mark.parametrize("value", ["two", True, 1.5, 0, -3])
def test_bad_version_values_are_explained(value):
    data = _load("schema-1.yaml")
    data["version"] = value
    with pytest.raises(ConfigError) as exc:
        load_config_text(yaml.safe_dump(data))
    [issue] = exc.value.issues
    assert issue.path == "version"
    assert "schema version" in issue.message


def test_test_migration_before_after_fixture():
    before, after = _load("test-migration/before.yaml"), _load("test-migration/after.yaml")
    out = migrate_data(before, migrations=[TEST_MIGRATION])
    assert out.data == after
    assert out.changed and out.from_version == 0 and out.steps == [TEST_MIGRATION]
    assert "schema version 0 to 1" in out.describe()
    assert before["version"] == 0 and "town" in before["identity"], "input left as it was"
    # without the migration, schema 0 is older than anything this firmware reads
    with pytest.raises(SchemaError, match="older than any"):
        migrate_data(before)


def test_current_schema_is_not_migrated():
    data = _load("schema-1.yaml")
    out = migrate_data(data)
    assert not out.changed and out.data == data and out.describe() == ""


def test_loader_migrates_an_older_file(with_test_migration):
    cfg = load_config_file(FIXTURES / "test-migration/before.yaml")
    assert cfg == load_config_file(FIXTURES / "test-migration/after.yaml")
    assert cfg.identity.city == "Example Town" and cfg.route_server.asn == 64511


def test_reapply_keeps_the_original_revision_and_commits_the_migrated_one(
        tmp_path, with_test_migration):
    """Booting a firmware with a newer schema on an older revision: the committed text is
    migrated as a new revision, the original stays as the one before it."""
    original = (FIXTURES / "test-migration/before.yaml").read_text()
    store = RevisionStore(tmp_path)
    store.commit(original, "old-firmware", "as an older firmware wrote it")
    out = Pipeline(tmp_path, concerns=[]).reapply_latest()
    assert out.ok, (out.error, out.issues)
    revs = RevisionStore(tmp_path).list()
    assert [r.id for r in revs] == [1, 2]
    assert revs[0].config == original
    assert load_config_text(revs[1].config) == load_config_file(FIXTURES /
                                                                "test-migration/after.yaml")
    assert "town" not in revs[1].config
    assert revs[1].comment == ("re-apply at start (configuration migrated from schema version "
                               "0 to 1; revision 1 keeps the original)")


def test_commit_notes_a_schema_migration(tmp_path):
    store = RevisionStore(tmp_path)
    store.commit("identity: {}\n", "a", "old")
    rev = store.commit("version: 2\nidentity: {}\n", "a", "re-apply at start")
    assert rev.comment == ("re-apply at start (configuration migrated from schema version 1 "
                           "to 2; revision 1 keeps the original)")
    assert store.commit("version: 2\nidentity: {x: 1}\n", "a", "edit").comment == "edit"


def test_dump_writes_the_version_from_schema_2_on():
    cfg = load_config_file(FIXTURES / "schema-1.yaml")
    assert not dump_config(cfg).startswith("version:"), "schema 1 texts stay as they were"
    later = cfg.model_copy(update={"version": 2})
    text = dump_config(later)
    assert text.startswith("version: 2\n")
    assert migrations.text_version(text) == 2 and migrations.text_version(dump_config(cfg)) == 1
