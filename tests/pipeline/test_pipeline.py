"""The change pipeline: stages, idempotence, refusal without side effects, rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config.model import IXPConfig
from appliance.pipeline.concern import (
    ApplyContext,
    Change,
    Concern,
    RenderedFile,
    TargetRefused,
    VerifyError,
)
from appliance.pipeline.core import CoreConcern
from appliance.pipeline.run import Pipeline
from appliance.platform.target import Target


class Recorder(Concern):
    """A test concern: renders one file per member and records what the pipeline asks of it."""

    name = "recorder"

    def __init__(self, *, fail_verify=False, fail_apply_when=None):
        self.fail_verify = fail_verify
        self.fail_apply_when = fail_apply_when
        self.applied: list[list[str]] = []
        self.verified_dirs: list[Path] = []

    def render(self, cfg: IXPConfig) -> list[RenderedFile]:
        return [RenderedFile(f"rec/m{m.asn}.txt", f"{m.name}\n".encode()) for m in cfg.members]

    def verify(self, cfg: IXPConfig, staged: Path) -> None:
        self.verified_dirs.append(staged)
        assert (staged / "ixp.yaml").exists()  # every concern's files are staged together
        if self.fail_verify:
            raise VerifyError("recorder: refused by the checker")

    def apply(self, cfg: IXPConfig, ctx: ApplyContext, changed_files: list[str]) -> None:
        if self.fail_apply_when and self.fail_apply_when(cfg):
            raise RuntimeError("recorder: device said no")
        self.applied.append(sorted(changed_files))


def make(tmp_path, **kw) -> tuple[Pipeline, Recorder]:
    rec = Recorder(**kw)
    return Pipeline(tmp_path, concerns=[CoreConcern(), rec]), rec


def test_render_is_pure(example_text, tmp_path):
    pipe, _ = make(tmp_path)
    cfg = pipe.validate(example_text)
    first, _ = pipe.render(cfg)
    second, _ = pipe.render(cfg)
    assert first == second
    assert not any(tmp_path.iterdir()), "render must not write anything"


def test_apply_then_noop(example_text, tmp_path):
    pipe, rec = make(tmp_path)
    out = pipe.run(example_text, author="t", comment="first")
    assert out.ok and out.revision.id == 1
    assert (tmp_path / "etc" / "ixp.yaml").exists()
    assert rec.applied == [sorted(f"rec/m{a}.txt" for a in range(64496, 64501))]
    again = pipe.run(example_text, author="t", comment="again")
    assert again.ok and again.changes == [] and again.revision.id == 1
    assert "nothing to change" in again.message
    assert len(rec.applied) == 1, "a no-op apply must not call the concern"


def test_changed_member_touches_only_its_files(example_text, tmp_path):
    pipe, rec = make(tmp_path)
    pipe.run(example_text, author="t")
    out = pipe.run(example_text.replace("Reef Networks", "Reef Net"), author="t")
    assert out.ok and out.revision.id == 2
    assert sorted(c.target for c in out.changes) == ["file ixp.yaml", "file rec/m64498.txt"]
    assert rec.applied[-1] == ["rec/m64498.txt"]


def test_removed_member_file_is_removed(example_text, tmp_path):
    pipe, _ = make(tmp_path)
    pipe.run(example_text, author="t")
    cfg = pipe.validate(example_text)
    smaller = cfg.model_copy(update={"members": cfg.members[:4]})
    out = pipe.run(smaller, author="t")
    assert out.ok
    assert Change("recorder", "remove", "file rec/m64500.txt", path="rec/m64500.txt") in out.changes
    assert not (tmp_path / "etc" / "rec" / "m64500.txt").exists()


def test_dry_run_changes_nothing(example_text, tmp_path):
    pipe, rec = make(tmp_path)
    out = pipe.run(example_text, author="t", dry_run=True)
    assert out.ok and len(out.changes) == 6
    assert not (tmp_path / "etc").exists() and pipe.store.latest() is None
    assert rec.applied == []


def test_invalid_config_changes_nothing(example_text, tmp_path):
    pipe, rec = make(tmp_path)
    pipe.run(example_text, author="t")
    before = (tmp_path / "etc" / "ixp.yaml").read_bytes()
    out = pipe.run(example_text.replace("asn: 64497", "asn: 0"), author="t")
    assert not out.ok and out.stage == "validate"
    assert [i.path for i in out.issues] == ["members[1].asn"]
    assert (tmp_path / "etc" / "ixp.yaml").read_bytes() == before
    assert pipe.store.latest().id == 1 and len(rec.applied) == 1


def test_verify_failure_changes_nothing(example_text, tmp_path):
    pipe, rec = make(tmp_path, fail_verify=True)
    out = pipe.run(example_text, author="t")
    assert not out.ok and out.stage == "verify" and "refused by the checker" in out.error
    assert rec.applied == [] and pipe.store.latest() is None
    assert not (tmp_path / "etc").exists()
    assert not any(p.name.startswith("staging-") for p in tmp_path.iterdir())


def test_apply_failure_restores_previous_revision(example_text, tmp_path):
    pipe, _rec = make(tmp_path, fail_apply_when=lambda cfg: len(cfg.members) == 4)
    pipe.run(example_text, author="t")
    before = {p: p.read_bytes() for p in (tmp_path / "etc").rglob("*") if p.is_file()}
    cfg = pipe.validate(example_text)
    out = pipe.run(cfg.model_copy(update={"members": cfg.members[:4]}), author="t")
    assert not out.ok and out.stage == "apply" and out.rolled_back
    assert "revision 1 was restored" in out.error
    after = {p: p.read_bytes() for p in (tmp_path / "etc").rglob("*") if p.is_file()}
    assert after == before
    assert pipe.store.latest().id == 1


def test_rollback_is_a_new_revision(example_text, tmp_path):
    pipe, _ = make(tmp_path)
    pipe.run(example_text, author="t")
    pipe.run(example_text.replace("Reef Networks", "Reef Net"), author="t")
    out = pipe.rollback(1, author="t")
    assert out.ok and out.revision.id == 3
    assert out.revision.config == pipe.store.get(1).config
    assert out.revision.comment == "rollback to revision 1"


def test_progress_reports_every_stage(example_text, tmp_path):
    seen = []
    pipe = Pipeline(tmp_path, concerns=[CoreConcern()],
                    progress=lambda stage, state, _msg: seen.append((stage, state)))
    pipe.run(example_text, author="t")
    assert [s for s, st in seen if st == "ok"] == ["validate", "render", "verify", "plan",
                                                   "apply", "commit"]


def test_two_concerns_cannot_own_one_path(example_text, tmp_path):
    pipe = Pipeline(tmp_path, concerns=[CoreConcern(), CoreConcern()])
    with pytest.raises(RuntimeError, match=r"both render ixp\.yaml"):
        pipe.render(pipe.validate(example_text))


def test_host_network_is_refused_off_the_image(tmp_path, monkeypatch):
    monkeypatch.delenv("IXP_ALLOW_HOST_NETWORK", raising=False)
    with pytest.raises(TargetRefused, match="lab namespace"):
        ApplyContext(Target(tmp_path)).require_system_target()
    ApplyContext(Target(tmp_path, "ixt-x-ixp")).require_system_target()


def test_diff_for_review(example_text, tmp_path):
    pipe, _ = make(tmp_path)
    pipe.run(example_text, author="t")
    diff = pipe.diff(example_text.replace("Reef Networks", "Reef Net"))
    assert "-  name: Reef Networks" in diff and "+  name: Reef Net" in diff
    assert "+++ candidate/rec/m64498.txt" in diff
