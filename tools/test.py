"""Evaluate a checkpoint on every target domain of a config: per-domain mIoU and H-mean.

    python tools/test.py CONFIG CKPT [--model student|teacher] [--work-dir D] [--out DIR]
                         [--show-dir DIR] [--name NAME] [--verbose]

CKPT is a weights-only export, a merged file (``.pth`` or ``.safetensors``; per-domain heads, if it
has them, each evaluated on its own domain, as tools/merge.py does) or a run's full checkpoint
(iter_N.pth; ``--model`` picks the student or the EMA teacher). Writes results.json, results.md and
results.csv into the work dir and prints the table; mmengine's full log goes to the log file it
names (``--verbose``: to the terminal too). ``--out`` and ``--show-dir`` are mmseg's options: the
trainId predictions, and drawings of them over the images, one sub-folder per domain.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, add_config_args, current_log_file, run_tool  # noqa: E402
from mtda.io.segmentor_state import MODEL_ROLES  # noqa: E402


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='experiment config with the target domains')
    parser.add_argument('checkpoint', help='weights to evaluate (loaded weights-only)')
    parser.add_argument('--model', choices=MODEL_ROLES, default='student',
                        help='segmentor to read from a full UDA checkpoint (iter_N.pth)')
    add_config_args(parser)
    parser.add_argument('--out', '--save-preds', dest='out', metavar='DIR',
                        help='write every prediction as a trainId PNG, DIR/<domain>/<image>.png')
    parser.add_argument('--show-dir', metavar='DIR',
                        help='draw every prediction (beside its label, over the image) into '
                             'DIR/<domain>/<image>.png')
    parser.add_argument('--verbose', action='store_true',
                        help="print mmengine's whole log (environment, config, iterations) to the "
                             'terminal too, not only to the log file')
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
    results = evaluate_checkpoint(cfg, args.checkpoint, name=args.name, save_preds=args.out,
                                  show_dir=args.show_dir, trust=args.trust_checkpoint,
                                  model=args.model, full_terminal_log=args.verbose)
    if results is not None:
        paths = write_results([results], cfg.work_dir)
        print(render_markdown([results]))
        print(f'results: {paths["json"]}, {paths["md"]}, {paths["csv"]}')
        for folder, what in ((args.out, 'predictions'), (args.show_dir, 'drawings')):
            if folder:
                print(f'{what}: {folder}/<domain>/')
        print(f'full log: {current_log_file()}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
