"""Label converters: the preparation users run on the real downloads (and mtda on its synthetic copies).

One module per dataset, each with ``convert(data_root, *, nproc=1[, out_dir=None]) -> ConversionSummary``:

=============== ================================================ ==========================================
module          reads                                            writes
=============== ================================================ ==========================================
``gta``         ``labels/%05d.png`` (palette index = CS id)      ``labels/%05d_labelTrainIds.png`` + RCS
``synthia``     ``GT/LABELS/%07d.png`` (16-bit, id in R)         ``GT/LABELS/%07d_labelTrainIds.png`` + RCS
``cityscapes``  ``gtFine/*/*/*_gtFine_polygons.json``            ``*_gtFine_labelTrainIds.png``,
                                                                 ``{split}.txt``, RCS over train
``idd``         ``gtFine/*/*/*_gtFine_polygons.json``            ``*_gtFine_labelcsTrainIds.png``
``acdc``        ``gt/{cond}/{split}/*/*_gt_labelTrainIds.png``   nothing (validated)
``dark_zurich`` ``gt/val/night/*/*_gt_labelTrainIds.png``        nothing (validated)
=============== ================================================ ==========================================

RCS = the rare-class-sampling files of :mod:`.class_stats`, written to ``out_dir`` (default: the
data root). Shared pieces: :mod:`.label_files` (finding/reading inputs), :mod:`.id_mapping`
(value checks, lookup tables), :mod:`.atomic_files`, :mod:`.parallel` (progress bar, ``nproc``),
and the per-kind pipelines :mod:`.raw_id_labels`, :mod:`.polygon_labels`, :mod:`.shipped_train_ids`.
Every bad input raises :class:`mtda.errors.DataError` with a one-line message.
"""
from pathlib import Path
from typing import List

from . import acdc, cityscapes, dark_zurich, gta, idd, synthia
from .summary import ConversionSummary

#: Dataset folder name (DAFormer's, under the data root) -> its ``convert`` function.
CONVERTERS = {
    'gta': gta.convert,
    'synthia': synthia.convert,
    'cityscapes': cityscapes.convert,
    'idd': idd.convert,
    'acdc': acdc.convert,
    'dark_zurich': dark_zurich.convert,
}



def convert_all(data_root, *, nproc: int = 1, verbose: bool = True) -> List[ConversionSummary]:
    """Run the converter of every dataset folder present under ``data_root``."""
    summaries = []
    for name, convert in CONVERTERS.items():
        if (Path(data_root) / name).is_dir():
            summaries.append(convert(Path(data_root) / name, nproc=nproc))
            if verbose:
                print(summaries[-1], flush=True)
    return summaries


__all__ = ['CONVERTERS', 'ConversionSummary', 'convert_all']
