"""Evaluate a checkpoint on every target domain of a config: per-domain mIoU and H-mean.

    python tools/test.py CONFIG CKPT [--model student|teacher] [--work-dir D] [--save-preds DIR]
                         [--name NAME]

CKPT is a weights-only export, a merged file (per-domain heads, if it has them, each evaluated on
its own domain, as tools/merge.py does) or a run's full checkpoint (iter_N.pth; ``--model`` picks
the student or the EMA teacher). Writes results.json, results.md and results.csv into the work dir
and prints the table.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, add_config_args, run_tool  # noqa: E402
from mtda.io.segmentor_state import MODEL_ROLES  # noqa: E402


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='experiment config with the target domains')
    parser.add_argument('checkpoint', help='weights to evaluate (loaded weights-only)')
    parser.add_argument('--model', choices=MODEL_ROLES, default='student',
                        help='segmentor to read from a full UDA checkpoint (iter_N.pth)')
    add_config_args(parser)
    parser.add_argument('--save-preds', metavar='DIR',
                        help='write every prediction as a trainId PNG, DIR/<domain>/<image>.png')
    parser.add_argument('--name', default='', help='row label in the tables')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow full unpickling of CKPT (runs code in it; only for files '
                             'whose origin you trust)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mtda.config import load_config
    from mtda.apis import evaluate_checkpoint
    from mtda.evaluation import render_markdown, write_results

    cfg = load_config(args.config, cfg_options=args.cfg_options, work_dir=args.work_dir,
                      launcher=args.launcher)
    results = evaluate_checkpoint(cfg, args.checkpoint, name=args.name,
                                  save_preds=args.save_preds, trust=args.trust_checkpoint,
                                  model=args.model)
    if results is not None:
        paths = write_results([results], cfg.work_dir)
        print(render_markdown([results]))
        print(f'results: {paths["json"]}, {paths["md"]}, {paths["csv"]}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
