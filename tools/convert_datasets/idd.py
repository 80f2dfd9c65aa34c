"""Draw IDD labels in the 19 Cityscapes train classes (AutoNUE csTrainIds) from the polygon annotations.

reads   DATA_ROOT/gtFine/{split}/{drive}/*_gtFine_polygons.json  (IDD label names)
writes  DATA_ROOT/gtFine/{split}/{drive}/*_gtFine_labelcsTrainIds.png  (8-bit trainIds, 255 = ignore)

example: python tools/convert_datasets/idd.py data/idd --nproc 8
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without installing

from mtda.datasets.converters import idd  # noqa: E402
from mtda.datasets.converters.cli import run_converter  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_converter(idd.convert, description=__doc__))
