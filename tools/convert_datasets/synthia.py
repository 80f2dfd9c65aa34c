"""Convert SYNTHIA-RAND-CITYSCAPES labels to Cityscapes trainIds and write the rare-class-sampling statistics.

reads   DATA_ROOT/GT/LABELS/%07d.png                (16-bit, 3 channels; class id in R)
writes  DATA_ROOT/GT/LABELS/%07d_labelTrainIds.png  (8-bit trainIds, 255 = ignore)
        OUT_DIR/sample_class_stats.json, sample_class_stats_dict.json, samples_with_class.json

example: python tools/convert_datasets/synthia.py data/synthia --nproc 8
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without installing

from mtda.datasets.converters import synthia  # noqa: E402
from mtda.datasets.converters.cli import run_converter  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_converter(synthia.convert, description=__doc__,
                           out_dir_help='where the RCS JSON files go (default: DATA_ROOT)'))
