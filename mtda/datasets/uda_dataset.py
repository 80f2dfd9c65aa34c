"""``UDADataset``: pairs a labelled source sample with an unlabelled target sample, optionally
drawing the source by rare class sampling (RCS).

Convention (DAFormer, Hoyer et al. CVPR 2022, ``mmseg/datasets/uda_dataset.py``):

* the length is ``len(source) * len(target)``; without RCS, index ``i`` pairs source
  ``i // len(target)`` with target ``i % len(target)`` (a shuffling sampler makes the pairs
  uniform); with RCS the index is not used: the source comes from RCS and the target is drawn
  uniformly. mmengine's ``InfiniteSampler`` materialises a permutation of the whole length
  (74 million Python ints, some 3 GB, for GTA x Cityscapes), so ``length='source'`` offers
  ``len(source)`` instead: index ``i`` then gives source ``i`` and a uniformly drawn target;
* RCS draws a class ``c`` with :func:`~mtda.datasets.rare_class_sampling.rare_class_probabilities` from the
  converter's statistics of the source root, then a source file holding more than ``min_pixels``
  of ``c`` (files matched by basename of the label), and re-crops until the crop holds more than
  ``min_crop_ratio * min_pixels`` pixels of ``c``. DAFormer re-indexes its (random-cropping)
  dataset up to ten more times and keeps the eleventh crop unchecked; here the source pipeline runs
  at most ``max_crop_attempts`` (10) times in all and the first crop that satisfies the condition
  is kept, else the last;
* the target's labels are never used: they are removed from the target sample unless
  ``keep_target_labels`` (for diagnostics such as pseudo-label accuracy).

mtda departs from DAFormer where it would crash: classes without any file above ``min_pixels``
(or whose files are not in the source dataset, e.g. statistics of a larger split) are left out of
the draw with a warning, and the remaining probabilities renormalised.

Randomness comes from numpy's global generator, like mmseg's random transforms, which mmengine
seeds from the experiment seed in the main process and per dataloader worker (``seed + worker id
+ rank offset``); so a run is reproducible given its seed and worker count.

A sample is ``{'source': {'inputs', 'data_samples'}, 'target': {'inputs', 'data_samples'}}``, each
half exactly what the dataset's pipeline (``PackSegInputs``) returns. mmengine's ``pseudo_collate``
(mmseg's default) turns a list of them into
``{'source': {'inputs': [Tensor, ...], 'data_samples': [SegDataSample, ...]}, 'target': {...}}``,
and ``default_collate`` the same with the images stacked into one tensor per half; the UDA
segmentor's data preprocessor normalises each half as mmseg does for a plain batch.
"""
import copy
from typing import Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmseg.registry import DATASETS

from .rare_class_sampling import load_rcs_statistics, rare_class_probabilities

#: DAFormer's RCS settings (final DAFormer configs; the 10 re-crops are in its uda_dataset.py).
RCS_DEFAULTS = dict(min_pixels=3000, class_temp=0.01, min_crop_ratio=0.5, max_crop_attempts=10)


@DATASETS.register_module()
class UDADataset:
    """A labelled source and an unlabelled target dataset, sampled in pairs (module docstring).

    Args:
        source: the source dataset or its config (built from mmseg's DATASETS registry).
        target: the target dataset or its config.
        rare_class_sampling: ``None`` (off) or a dict with any of ``min_pixels`` (3000),
            ``class_temp`` (0.01), ``min_crop_ratio`` (0.5), ``max_crop_attempts`` (10) and
            ``data_root`` (where the converter's JSON files are; default: the source's
            ``data_root``).
        length: the dataset length seen by samplers: ``None`` for DAFormer's
            ``len(source) * len(target)`` with index-determined pairs, ``'source'`` for
            ``len(source)`` or an int, both with a uniformly drawn target (and source
            ``index % len(source)`` without RCS). With RCS the index is unused either way.
        keep_target_labels: keep ``gt_sem_seg`` in the target samples (never needed for training).
        lazy_init: defer loading the annotation lists until :meth:`full_init` (mmengine's
            convention; the Runner calls it).
    """

    def __init__(self, source: Union[dict, BaseDataset], target: Union[dict, BaseDataset], *,
                 rare_class_sampling: Optional[dict] = None,
                 length: Union[int, str, None] = None,
                 keep_target_labels: bool = False, lazy_init: bool = False) -> None:
        self.source = DATASETS.build(source) if isinstance(source, dict) else source
        self.target = DATASETS.build(target) if isinstance(target, dict) else target
        self.keep_target_labels = keep_target_labels
        if not (length is None or length == 'source' or (isinstance(length, int) and length > 0)):
            raise ValueError(f"length must be None, 'source' or a positive int, got {length!r}")
        self._length = length
        if rare_class_sampling is not None:
            unknown = set(rare_class_sampling) - set(RCS_DEFAULTS) - {'data_root'}
            if unknown:
                raise TypeError(f'unknown rare_class_sampling keys {sorted(unknown)}; '
                                f'known: {sorted(RCS_DEFAULTS)} and data_root')
            rare_class_sampling = {**RCS_DEFAULTS, **rare_class_sampling}
        self.rcs_cfg = rare_class_sampling
        self.rcs_classes: list[int] = []
        self.rcs_probabilities: Optional[np.ndarray] = None
        self._rcs_files: dict[int, list[int]] = {}
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The source's meta information (classes, palette), checked equal to the target's."""
        return copy.deepcopy(self.source.metainfo)

    @property
    def rcs_enabled(self) -> bool:
        return self.rcs_cfg is not None

    def full_init(self) -> None:
        """Load both datasets' annotation lists and, with RCS, the class statistics."""
        if self._fully_initialized:
            return
        self.source.full_init()
        self.target.full_init()
        source_classes = tuple(self.source.metainfo.get('classes', ()))
        target_classes = tuple(self.target.metainfo.get('classes', ()))
        if source_classes != target_classes:
            raise ValueError(f'source and target classes differ: {source_classes} vs '
                             f'{target_classes}')
        if self.rcs_enabled:
            self._init_rare_class_sampling()
        self._fully_initialized = True

    def _init_rare_class_sampling(self) -> None:
        cfg = self.rcs_cfg
        data_root = cfg.get('data_root') or getattr(self.source, 'data_root', None)
        if not data_root:
            raise ValueError('rare_class_sampling needs the source data_root '
                             '(or rare_class_sampling.data_root)')
        stats = load_rcs_statistics(data_root, min_pixels=cfg['min_pixels'])
        index_of = self._source_index_by_label_basename()
        classes, probs = rare_class_probabilities(stats.class_pixel_counts,
                                                  temperature=cfg['class_temp'])
        kept, kept_probs, dropped = [], [], []
        for c, p in zip(classes, probs.tolist()):
            indices = [index_of[name] for name in stats.files_with_class.get(c, ())
                       if name in index_of]
            if indices:
                kept.append(c)
                kept_probs.append(p)
                self._rcs_files[c] = indices
            else:
                dropped.append(c)
        if not kept:
            raise ValueError(f'rare class sampling: no class has a source file with more than '
                             f'{cfg["min_pixels"]} pixels among the files of {data_root}; lower '
                             f'min_pixels (it counts pixels of the stored labels)')
        if dropped:
            print_log(f'rare class sampling: classes {dropped} have no source file with more than '
                      f'{cfg["min_pixels"]} pixels; they are left out of the draw',
                      logger='current', level='WARNING')
        self.rcs_classes = kept
        self.rcs_probabilities = np.asarray(kept_probs, dtype=np.float64) / sum(kept_probs)
        print_log(f'rare class sampling: classes {kept}, probabilities '
                  f'{np.round(self.rcs_probabilities, 4).tolist()}', logger='current')

    def _source_index_by_label_basename(self) -> dict[str, int]:
        index_of: dict[str, int] = {}
        for i in range(len(self.source)):
            path = self.source.get_data_info(i).get('seg_map_path')
            if path is None:
                raise ValueError('rare class sampling needs source labels (seg_map_path)')
            name = str(path).replace('\\', '/').rsplit('/', 1)[-1]
            if name in index_of:
                raise ValueError(f'two source labels share the basename {name!r}; the RCS '
                                 f'statistics match files by basename')
            index_of[name] = i
        return index_of

    def __len__(self) -> int:
        if self._length is None:
            return len(self.source) * len(self.target)
        return len(self.source) if self._length == 'source' else self._length

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        if self.rcs_enabled:
            source = self._rare_class_source()
            target = self.target[np.random.randint(len(self.target))]
        elif self._length is None:  # DAFormer: the index determines the pair
            source = self.source[idx // len(self.target)]
            target = self.target[idx % len(self.target)]
        else:
            source = self.source[idx % len(self.source)]
            target = self.target[np.random.randint(len(self.target))]
        if not self.keep_target_labels and 'gt_sem_seg' in target['data_samples']:
            del target['data_samples'].gt_sem_seg
        return dict(source=source, target=target)

    def rare_class_index(self) -> tuple[int, int]:
        """Draw ``(class, source index)``: a class by its RCS probability, then one of its files."""
        c = self.rcs_classes[np.random.choice(len(self.rcs_classes), p=self.rcs_probabilities)]
        files = self._rcs_files[c]
        return c, files[np.random.randint(len(files))]

    def _rare_class_source(self) -> dict:
        c, index = self.rare_class_index()
        needed = self.rcs_cfg['min_pixels'] * self.rcs_cfg['min_crop_ratio']
        attempts = max(1, int(self.rcs_cfg['max_crop_attempts'])) if needed > 0 else 1
        for _ in range(attempts):
            sample = self.source[index]
            if int((sample['data_samples'].gt_sem_seg.data == c).sum()) > needed:
                break
        return sample
