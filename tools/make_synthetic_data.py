"""Write miniature synthetic copies of the six driving datasets in their raw on-disk layouts.

Examples::

    python tools/make_synthetic_data.py                        # all six, tiny, into data/
    python tools/make_synthetic_data.py --size full --datasets gta cityscapes --out /scratch/data

The labels are the raw ones users download (GTA P-mode ids, SYNTHIA 16-bit, Cityscapes/IDD
polygons); run the converters afterwards, as with the real datasets.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402
from mtda.datasets.synthetic import DATASETS, SIZES, make_synthetic_datasets  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data', help='data root; each dataset goes to OUT/NAME')
    parser.add_argument('--size', default='tiny', choices=sorted(SIZES),
                        help='tiny: 128 px wide, seconds on a CPU (tests); miniature: the same with '
                             'the main job\'s frame counts; full: real resolutions')
    parser.add_argument('--seed', type=int, default=0, help='same seed, byte-identical files')
    parser.add_argument('--datasets', nargs='+', default=None, choices=DATASETS, metavar='NAME',
                        help=f'subset to write (default: all of {" ".join(DATASETS)})')
    parser.add_argument('--overwrite', action='store_true',
                        help='regenerate synthetic datasets that already exist')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bars')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    summary = make_synthetic_datasets(args.out, size=args.size, seed=args.seed,
                                      datasets=args.datasets, overwrite=args.overwrite,
                                      progress=not args.no_progress)
    for name, row in summary.items():
        print(f'{name:12s} {row["status"]:8s} {row["frames"]:4d} frames {row["seconds"]:7.2f} s  '
              f'{row["path"]}')
    print(f'total {time.perf_counter() - start:.2f} s ({args.size}, seed {args.seed})')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
