"""Draw Cityscapes trainId labels from the polygon annotations; write split lists and RCS statistics.

reads   DATA_ROOT/gtFine/{split}/{city}/*_gtFine_polygons.json
writes  DATA_ROOT/gtFine/{split}/{city}/*_gtFine_labelTrainIds.png  (8-bit trainIds, 255 = ignore)
        OUT_DIR/{split}.txt (stems such as aachen/aachen_000000_000019)
        OUT_DIR/sample_class_stats.json, sample_class_stats_dict.json, samples_with_class.json (train split)

example: python tools/convert_datasets/cityscapes.py data/cityscapes --nproc 8
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without installing

from mtda.datasets.converters import cityscapes  # noqa: E402
from mtda.datasets.converters.cli import run_converter  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_converter(cityscapes.convert, description=__doc__,
                           out_dir_help='where the split lists and RCS JSON files go (default: DATA_ROOT)'))
