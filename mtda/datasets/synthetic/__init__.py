"""Miniature synthetic copies of GTA5, SYNTHIA, Cityscapes, IDD, ACDC and Dark Zurich.

No real dataset can be downloaded where mtda is tested, so it draws its own street scenes and
writes them in each dataset's raw on-disk layout (see :mod:`.writers`), so that the converters,
dataset classes and training pipeline run on them unchanged. Modules, in pipeline order:

* :mod:`.vocabulary`: canonical class names and each dataset's spelling of them;
* :mod:`.geometry` and :mod:`.scene`: street layouts as ordered labelled polygons (scene types,
  :class:`~.scene.SceneParams`, the builder and the road's cross-section);
* :mod:`.objects`: outlines and drawers of everything in a street; :mod:`.layout`:
  :func:`~.layout.generate_scene`, which calls them back to front;
* :mod:`.presets`: each domain's :class:`~.scene.SceneParams`;
* :mod:`.raster`: polygons -> class / instance / part / depth maps (PIL, like cityscapesscripts);
* :mod:`.styles` and :mod:`.conditions`: per-domain appearance, weather and night;
* :mod:`.writers` and :mod:`.sizes`: files on disk, and how many at which resolution.

Entry point: :func:`make_synthetic_datasets` (CLI: ``tools/make_synthetic_data.py``).
"""
import hashlib
import json
import numbers
import os
import shutil
import time
from pathlib import Path
from typing import Iterable, Optional

from tqdm import tqdm

from ...errors import DataError, MtdaError
from .sizes import SIZES, DatasetSize
from .writers import WRITERS

DATASETS = tuple(WRITERS)
# Written last into each finished dataset folder: says what is there, and makes re-runs idempotent.
MARKER = '.mtda_synthetic.json'
# Raised whenever the same size and seed come out as other pixels, so that a folder written by an
# older generator is refused (regenerate it with --overwrite) instead of silently reused.
# Older folders have no number; 2: sensor noise scaled with the rendered width (styles.DomainStyle).
RENDERING = 2

__all__ = ['DATASETS', 'MARKER', 'RENDERING', 'SIZES', 'DatasetSize', 'content_sha256',
           'make_synthetic_datasets']


def make_synthetic_datasets(out_dir, size: str = 'tiny', seed: int = 0,
                            datasets: Optional[Iterable[str]] = None, overwrite: bool = False,
                            progress: bool = True) -> dict:
    """Write synthetic datasets to ``out_dir/{name}``, each one atomically.

    A dataset is built in a hidden sibling folder ``out_dir/.{name}.tmp-<pid>`` and renamed into
    place only when complete; on any error (or Ctrl-C) the temporary folder is removed, so
    ``out_dir/{name}`` is either absent or complete. A complete synthetic dataset with the same
    size and seed is skipped; a folder that mtda did not generate (e.g. the real dataset) is
    kept as it is and never modified.

    Args:
        out_dir: Data root, e.g. ``data``; created if missing.
        size: ``'tiny'``, ``'miniature'`` or ``'full'`` (see :mod:`.sizes`).
        seed: Non-negative seed; the same seed gives byte-identical files.
        datasets: Names to generate (default: all of :data:`DATASETS`).
        overwrite: Regenerate synthetic datasets that already exist.
        progress: Show a tqdm bar per dataset.

    Returns:
        ``{name: {'path', 'status', 'frames', 'seconds'}}`` with status ``'written'``,
        ``'skipped'`` (already there, same size and seed) or ``'kept'`` (not synthetic, untouched).

    Raises:
        MtdaError: An unknown size or dataset name, or a negative seed.
        DataError: ``out_dir/{name}`` holds synthetic data of another size or seed and
            ``overwrite`` is off, or data mtda did not generate and ``overwrite`` is on.
    """
    names = _check_options(size, seed, datasets)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    summary = {}
    for name in names:
        start = time.perf_counter()
        target = root / name
        spec = SIZES[size][name]
        provenance = dict(generator='mtda.datasets.synthetic', rendering=RENDERING, dataset=name,
                          size=size, seed=int(seed),
                          width=spec.width, height=spec.height, frames=dict(spec.frames))
        jobs = WRITERS[name].plan(spec)
        status = _existing_status(target, provenance, overwrite)
        if status is None:
            _build_atomically(root, name, jobs, spec, seed, provenance, progress)
            status = 'written'
        summary[name] = dict(path=str(target), status=status, frames=len(jobs),
                             seconds=round(time.perf_counter() - start, 3))
    return summary


def _check_options(size: str, seed: int, datasets: Optional[Iterable[str]]) -> list:
    if size not in SIZES:
        raise MtdaError(f'unknown size {size!r}; choose one of {sorted(SIZES)}')
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise MtdaError(f'seed must be a non-negative integer, got {seed!r}')
    names = list(DATASETS if datasets is None else datasets)
    unknown = [n for n in names if n not in WRITERS]
    if unknown:
        raise MtdaError(f'unknown dataset(s) {unknown}; choose from {list(DATASETS)}')
    return list(dict.fromkeys(names))  # drop repeats, keep order


def content_sha256(folder) -> str:
    """sha256 over every file under ``folder`` but the marker: each relative POSIX path, a NUL,
    the file's bytes, in sorted path order.

    The marker records it, so a dataset written on two machines can be compared without copying
    it: equal hashes, equal files (the same size and seed give byte-identical files on one
    machine; whether another CPU draws the same pixels is what the hash shows).
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob('*')
                   if p.is_file() and p.name != MARKER)
    for name in names:
        digest.update(name.encode() + b'\0')
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()


def _read_marker(target: Path) -> Optional[dict]:
    try:
        return json.loads((target / MARKER).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return None


def _existing_status(target: Path, provenance: dict, overwrite: bool) -> Optional[str]:
    """``None`` if ``target`` must be (re)built, else why it is left as it is.

    ``'skipped'``: it holds exactly this synthetic dataset; ``'kept'``: it holds something mtda
    did not generate (the real dataset, say), which is never modified.
    """
    if not target.exists():
        return None
    marker = _read_marker(target)
    if marker is None:
        if overwrite:
            raise DataError(f'refusing to overwrite {target}: it was not generated by mtda (no '
                            f'{MARKER}); move it away or choose another output folder')
        return 'kept'
    if overwrite:
        return None
    differing = [key for key in provenance if marker.get(key) != provenance[key]]
    if differing:
        found = ', '.join(f'{key}={marker.get(key)!r}' for key in differing)
        wanted = ', '.join(f'{key}={provenance[key]!r}' for key in differing)
        raise DataError(f'{target} holds synthetic data made with {found}, not {wanted}; pass '
                        'overwrite (--overwrite) to regenerate it')
    return 'skipped'


def _build_atomically(root: Path, name: str, jobs: list, spec: DatasetSize, seed: int,
                      provenance: dict, progress: bool) -> None:
    """Write all ``jobs`` into a temporary sibling folder, then rename it to ``root/name``."""
    writer = WRITERS[name]
    temporary = root / f'.{name}.tmp-{os.getpid()}'
    retired = root / f'.{name}.old-{os.getpid()}'
    target = root / name
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        temporary.mkdir()
        for job in tqdm(jobs, desc=name, unit='frame', disable=not progress, leave=False):
            writer.write(temporary, job, size=spec, seed=seed)
        marker = dict(provenance, content_sha256=content_sha256(temporary))
        (temporary / MARKER).write_text(json.dumps(marker, indent=2) + '\n', encoding='utf-8')
        if target.exists():  # overwrite: swap in the new folder, then drop the old one
            os.replace(target, retired)
        os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        if retired.exists() and not target.exists():
            os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)
