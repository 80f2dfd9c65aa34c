"""Check, before a runner is built, that every dataset a config reads is on disk and complete.

Without this a missing dataset surfaces as a ``FileNotFoundError`` traceback from deep inside a
dataloader worker, minutes into a run. Here each dataset of the config (the training set, the
sources and targets of a :class:`~mtda.datasets.uda_dataset.UDADataset`, every domain of the
multi-domain val/test loops) is listed the way the dataset class lists it (``load_data_list``),
and the first problem is raised as one line that names the folder or file and the command that
makes it: the dataset's converter under ``tools/convert_datasets/``, or
``tools/make_synthetic_data.py`` for the miniature copies.

Listing is cheap (directory scans and ``stat`` calls, no image decoding): GTA's 24,966 pairs take
well under a second. The evaluation sets' label files also have their headers read (mode and size,
no pixels), so a colour label or one of the wrong size is named before the run, not inside mmseg's
metric.
"""
import copy
import os.path as osp
from typing import Any, Iterator, List, Mapping, Optional, Tuple

from ..errors import DataError

#: dataset type -> (name of its folder under data/, its converter script)
CONVERTERS = {
    'GTADataset': ('gta', 'tools/convert_datasets/gta.py'),
    'SynthiaDataset': ('synthia', 'tools/convert_datasets/synthia.py'),
    'CityscapesDataset': ('cityscapes', 'tools/convert_datasets/cityscapes.py'),
    'IDDDataset': ('idd', 'tools/convert_datasets/idd.py'),
    'ACDCDataset': ('acdc', 'tools/convert_datasets/acdc.py'),
    'DarkZurichDataset': ('dark_zurich', 'tools/convert_datasets/dark_zurich.py'),
}


def iter_dataset_configs(cfg, parts=('train', 'val', 'test')) -> Iterator[Tuple[str, Mapping]]:
    """``(where, dataset config)`` for every leaf dataset the given parts of ``cfg`` read."""
    def leaves(where: str, dataset: Any) -> Iterator[Tuple[str, Mapping]]:
        if not isinstance(dataset, Mapping):
            return
        if 'source' in dataset and 'target' in dataset:  # UDADataset
            yield from leaves(f'{where}.source', dataset['source'])
            yield from leaves(f'{where}.target', dataset['target'])
        elif 'datasets' in dataset:  # ConcatDataset and friends
            for i, child in enumerate(dataset['datasets']):
                yield from leaves(f'{where}.datasets[{i}]', child)
        elif 'dataset' in dataset and 'data_root' not in dataset:  # RepeatDataset
            yield from leaves(f'{where}.dataset', dataset['dataset'])
        else:
            yield where, dataset

    if 'train' in parts and cfg.get('train_dataloader'):
        yield from leaves('train_dataloader.dataset', cfg.train_dataloader.get('dataset'))
    for part in ('val', 'test'):
        if part not in parts:
            continue
        loop = cfg.get(f'{part}_cfg') or {}
        domains = loop.get('domains') if isinstance(loop, Mapping) else None
        if domains:
            for domain, dataset in domains.items():
                yield from leaves(f'{part}_cfg.domains.{domain}', dataset)
        elif cfg.get(f'{part}_dataloader'):
            yield from leaves(f'{part}_dataloader.dataset', cfg[f'{part}_dataloader'].get('dataset'))


def _reads_labels(dataset: Mapping) -> bool:
    return any(isinstance(step, Mapping) and step.get('type') == 'LoadAnnotations'
               for step in dataset.get('pipeline') or [])


def _fix(dataset_type: str, data_root: str) -> str:
    name, converter = CONVERTERS.get(dataset_type, (None, None))
    synthetic = 'python tools/make_synthetic_data.py (the miniature synthetic copies)'
    if converter is None:
        return f'put the dataset there, or run {synthetic}'
    return (f'download {name} into {data_root} and run python {converter} {data_root}, '
            f'or run {synthetic}')


def check_dataset(where: str, dataset: Mapping, *, label_headers: bool = False) -> int:
    """Raise :class:`DataError` if one dataset config's folders or files are missing.

    With ``label_headers`` (the evaluation sets) every label file's header is read too: a label
    that is not a single-channel image, or whose size differs from its image's, is named here
    instead of failing inside mmseg's metric.

    Returns:
        the number of samples listed.
    """
    import mmseg.datasets  # noqa: F401 - registers mmseg's dataset classes
    from mmseg.registry import DATASETS

    from . import acdc, gta, idd, synthia  # noqa: F401 - and mtda's
    dataset_type = str(dataset.get('type'))
    data_root = str(dataset.get('data_root') or '')
    if data_root and not osp.isdir(data_root):
        raise DataError(f'{data_root}: no such dataset folder ({where}, {dataset_type}); '
                        f'{_fix(dataset_type, data_root)}')
    prefix = dict(dataset.get('data_prefix') or {})
    image_dir = osp.join(data_root, prefix.get('img_path', ''))
    if prefix.get('img_path') and not osp.isdir(image_dir):
        raise DataError(f'{image_dir}: no such image folder ({where}); '
                        f'{_fix(dataset_type, data_root)}')
    spec = copy.deepcopy(dict(dataset))
    spec.update(pipeline=[], lazy_init=True)
    try:
        samples: List[dict] = DATASETS.build(spec).load_data_list()
    except (OSError, ValueError) as exc:
        raise DataError(f'{data_root or where}: the dataset cannot be listed ({where}: '
                        f'{type(exc).__name__}: {exc}); {_fix(dataset_type, data_root)}') from None
    if not samples:
        raise DataError(f'{image_dir}: no images ({where}, an empty split folder or the wrong '
                        f'img_suffix); {_fix(dataset_type, data_root)}')
    if _reads_labels(dataset):
        missing = _first_missing_label(samples)
        if missing is not None:
            label, image = missing
            raise DataError(f'{label}: label file missing for {image} ({where}); run python '
                            f'{CONVERTERS.get(dataset_type, ("", "tools/convert_datasets/<dataset>.py"))[1]} '
                            f'{data_root} to make the labels, or remove the image')
        if label_headers:
            bad = _first_bad_label_header(samples)
            if bad is not None:
                label, problem = bad
                raise DataError(f'{label}: {problem} ({where}); labels must be the single-channel '
                                'trainId PNGs of python '
                                f'{CONVERTERS.get(dataset_type, ("", "tools/convert_datasets/<dataset>.py"))[1]} '
                                f'{data_root}')
    return len(samples)


def _first_bad_label_header(samples: List[dict]) -> Optional[Tuple[str, str]]:
    """The first label whose mode is not single-channel or whose size is not its image's
    (headers only: PIL reads no pixel data for ``.mode`` and ``.size``)."""
    from PIL import Image, UnidentifiedImageError
    for sample in samples:
        label, image = sample.get('seg_map_path'), sample.get('img_path')
        if label is None:
            continue
        try:
            with Image.open(label) as l_file:
                mode, size = l_file.mode, l_file.size
            with Image.open(image) as i_file:
                image_size = i_file.size
        except (OSError, UnidentifiedImageError) as exc:
            return label, f'not a readable image pair with {image} ({exc})'
        if mode not in ('L', 'P'):
            return label, f'a {mode} image, not a single-channel label'
        if size != image_size:
            return label, (f'{size[0]}x{size[1]} pixels, but its image {image} is '
                           f'{image_size[0]}x{image_size[1]}')
    return None


def _first_missing_label(samples: List[dict]) -> Optional[Tuple[str, str]]:
    for sample in samples:
        label = sample.get('seg_map_path')
        if label is not None and not osp.isfile(label):
            return label, sample.get('img_path', '?')
    return None


def check_datasets(cfg, parts=('train', 'val', 'test')) -> int:
    """Check every dataset of the given parts of ``cfg`` (see the module docstring).

    Returns:
        the number of datasets checked.

    Raises:
        DataError: the first missing folder, empty split or missing label file, in one line.
    """
    checked = set()
    for where, dataset in iter_dataset_configs(cfg, parts):
        key = (repr(sorted((k, repr(v)) for k, v in dataset.items() if k != 'pipeline')),
               _reads_labels(dataset))
        if key not in checked:
            checked.add(key)
            check_dataset(where, dataset, label_headers=where.startswith(('val', 'test')))
    return len(checked)
