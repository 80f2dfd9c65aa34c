"""The paper's claims on the miniature synthetic domains, over seeds: writes claims.{json,md}.

    python tools/run_claims.py [--work-dir work_dirs/claims] [--seeds 0 1 2]
                               [--families F [F ...]] [--jobs N]

Runs the main job (tools/run_mtda.py) per family and seed, the merges of every subset of targets,
the encoder-only C+I merge and the linear-mode-connectivity sweeps, skipping every step whose
output exists; then compares merged and single models paired within each seed (C1 LMC, C3 merge vs
best single, C4 BN buffer policies, C5 encoder-only merge, C6 the 15-subset table).
"""
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    from experiments.claims.study import FAMILIES, run_claims_study
    from experiments.main_job import add_process_arguments, tiny_families, tools_from_arguments
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/claims')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2],
                        help='training seeds, at least two (default 0 1 2)')
    parser.add_argument('--families', nargs='+', choices=tiny_families(REPO / 'configs'), default=list(FAMILIES),
                        help='tiny model families; the first one gets the 15-subset table')
    parser.add_argument('--data-seed', type=int, default=0, help='synthetic data seed')
    parser.add_argument('--pretrain-iters', type=int, help='override the pretraining length')
    parser.add_argument('--uda-iters', type=int, help='override each stage-one run\'s length')
    add_process_arguments(parser)
    args = parser.parse_args(argv)
    command = 'python tools/run_claims.py ' + shlex.join(sys.argv[1:] if argv is None else argv)
    run_claims_study(args.work_dir, configs_dir=REPO / 'configs', tools=tools_from_arguments(REPO / 'tools', args),
                     families=args.families, seeds=args.seeds,
                     data_seed=args.data_seed, pretrain_iters=args.pretrain_iters,
                     uda_iters=args.uda_iters, command=command.strip())


if __name__ == '__main__':
    sys.exit(run_tool(main))
