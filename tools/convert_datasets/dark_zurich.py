"""Validate the Dark Zurich val labels as shipped (they already are trainIds); writes nothing.

checks  DATA_ROOT/gt/val/night/GOPR0356/*_gt_labelTrainIds.png: 8-bit, values 0-18 or 255,
        same size as DATA_ROOT/rgb_anon/val/night/GOPR0356/*_rgb_anon.png

example: python tools/convert_datasets/dark_zurich.py data/dark_zurich
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without installing

from mtda.datasets.converters import dark_zurich  # noqa: E402
from mtda.datasets.converters.cli import run_converter  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_converter(dark_zurich.convert, description=__doc__))
