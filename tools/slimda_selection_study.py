"""SlimDA's label-free selection (UPEM) against the labelled choice, on one trained bank.

    python tools/slimda_selection_study.py CONFIG BANK.pth --out DIR
                                           [--per-stage 16] [--seed 0] [--frames 64]

CONFIG is the bank's config (``configs/slimda/``), BANK.pth its stage-one export. Scores the
uniform widths and --per-stage seeded per-stage sub-networks: FLOPs, UPEM on the target's
unlabelled training frames, mIoU on its labelled validation frames; the rank correlation and the
UPEM and oracle picks at 30, 50 and 70 % of the widest width's FLOPs
(experiments/slimda_selection_study.py). Writes DIR/selection.{json,md}.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, add_config_args, run_tool  # noqa: E402


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the bank\'s config (configs/slimda/...)')
    parser.add_argument('bank', help='the bank\'s weights (a SlimDA stage-one export)')
    parser.add_argument('--out', required=True, help='folder for selection.json and selection.md')
    parser.add_argument('--per-stage', type=int, default=16,
                        help='seeded per-stage sub-networks besides the uniform widths (16)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the candidates and of the frame sample')
    parser.add_argument('--frames', type=int, default=64,
                        help='unlabelled training frames for calibration and UPEM (64)')
    add_config_args(parser)
    args = parser.parse_args(argv)
    from experiments.slimda_selection_study import render_markdown, run_study
    from mtda.config import load_config
    from mtda.io.atomic import atomic_write_bytes
    cfg = load_config(args.config, cfg_options=args.cfg_options)
    record = run_study(cfg, args.bank, per_stage=args.per_stage, seed=args.seed,
                       frames=args.frames)
    out = Path(args.out)
    atomic_write_bytes(out / 'selection.json', (json.dumps(record, indent=1) + '\n').encode())
    atomic_write_bytes(out / 'selection.md', render_markdown(record).encode())
    print(render_markdown(record))


if __name__ == '__main__':
    sys.exit(run_tool(main))
