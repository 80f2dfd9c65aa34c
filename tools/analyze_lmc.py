"""Linear-mode-connectivity sweep between two checkpoints: per-domain mIoU and H-mean along the line.

    python tools/analyze_lmc.py CONFIG CKPT_A CKPT_B [--steps 11] [--model student|teacher]
                                [--rebasin [--rebasin-seed S]] [--work-dir D] [--verbose]

Evaluates θ(λ) = (1−λ)θ_A + λθ_B for evenly spaced λ in [0, 1] on every target domain of CONFIG
(one runner, weights reloaded per λ) and writes lmc.json, lmc.png and lmc.md into the work dir.
``--rebasin`` first permutes B onto A by Git Re-Basin's weight matching, so the path runs between
A and a B that computes the same function with its units reordered; the fraction of units the
matching left in place is reported with the barrier. The terminal shows a line per λ; mmengine's
full log goes to the file named at the end.
"""
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, add_config_args, current_log_file, run_tool  # noqa: E402
from mtda.io.segmentor_state import MODEL_ROLES  # noqa: E402


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='experiment config: the model and the target domains')
    parser.add_argument('checkpoint_a', metavar='CKPT_A', help='the model at λ = 0')
    parser.add_argument('checkpoint_b', metavar='CKPT_B', help='the model at λ = 1')
    parser.add_argument('--steps', type=int, default=11,
                        help='number of evenly spaced λ in [0, 1], ends included (default 11)')
    parser.add_argument('--model', choices=MODEL_ROLES, default='student',
                        help='segmentor to read from a full UDA checkpoint')
    parser.add_argument('--rebasin', action='store_true',
                        help='match B to A by Git Re-Basin weight matching before the sweep')
    parser.add_argument('--rebasin-seed', type=int, default=0,
                        help='seed of the order the permutation groups are visited in')
    parser.add_argument('--verbose', action='store_true',
                        help="print mmengine's whole log to the terminal too, not only to the "
                             'log file')
    add_config_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mtda.analysis.lmc import lambdas, render_lmc_markdown, write_lmc
    from mtda.apis import lmc_sweep
    from mtda.config import load_config

    lambdas(args.steps)  # refuse a bad --steps before anything is built
    cfg = load_config(args.config, cfg_options=args.cfg_options, work_dir=args.work_dir,
                      launcher=args.launcher)
    data = lmc_sweep(cfg, args.checkpoint_a, args.checkpoint_b, steps=args.steps,
                     model=args.model, rebasin=args.rebasin, seed=args.rebasin_seed,
                     full_terminal_log=args.verbose, on_point=_print_point)
    paths = write_lmc(data, cfg.work_dir)
    print(render_lmc_markdown(data))
    print(f'results: {paths["json"]}, {paths["png"]}, {paths["md"]}')
    print(f'full log: {current_log_file()}')


def _print_point(point: dict) -> None:
    hmean = point['hmean']
    print(f'λ={point["lambda"]:.2f}: H-mean {"–" if hmean is None else f"{hmean:.1f}"}',
          flush=True)


if __name__ == '__main__':
    # Library warnings go to stdout with the log, so stderr carries only our errors.
    logging.captureWarnings(True)
    logging.getLogger('py.warnings').addHandler(logging.StreamHandler(sys.stdout))
    sys.exit(run_tool(main))
