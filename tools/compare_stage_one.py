"""Two stage-one methods compared seed by seed: singles on their own targets, their own-target
advantages, the source-only models and the merges of both, paired differences with mean ± std over
seeds.

    python tools/compare_stage_one.py --baseline D0 D1 D2 --candidate E0 E1 E2 --out DIR
                                      [--labels DAFormer MIC] [--targets ...]

Each D/E is a main-job work dir (tools/run_mtda.py EXPERIMENT --work-dir D --seed S), the i-th of
both lists trained with the same seed and shared init, e.g. configs/mtda/
gta2all_daformer_efficientnet-lite0_tiny.py against gta2all_mic_daformer_efficientnet-lite0_tiny.py.
Only the singles' evaluations (eval/<target>/) are required; their own-target advantages come
from them when each single was evaluated on every target (as the main job does), and the source-only
model (eval/source_only/) and every merge row (merged/<row>/) that all work dirs have are compared
too. Writes DIR/stage_one_comparison.{json,md}.
"""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    from experiments.layout import TARGETS, JobLayout
    from experiments.stage_one_comparison import compare, read_run, render_markdown
    from mtda.io.atomic import atomic_write_bytes
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--baseline', nargs='+', required=True, metavar='DIR',
                        help="the baseline method's work dirs, one per seed")
    parser.add_argument('--candidate', nargs='+', required=True, metavar='DIR',
                        help="the candidate method's work dirs, in the same seed order")
    parser.add_argument('--labels', nargs=2, default=('baseline', 'candidate'),
                        metavar=('BASELINE', 'CANDIDATE'), help='names in the tables')
    parser.add_argument('--targets', nargs='+', default=list(TARGETS), choices=TARGETS)
    parser.add_argument('--out', required=True, help='folder for stage_one_comparison.{json,md}')
    args = parser.parse_args(argv)
    runs = {side: [read_run(JobLayout(d), args.targets) for d in dirs]
            for side, dirs in (('baseline', args.baseline), ('candidate', args.candidate))}
    report = compare(runs['baseline'], runs['candidate'], args.targets)
    report.update(labels=list(args.labels), baseline_dirs=args.baseline,
                  candidate_dirs=args.candidate)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = render_markdown(report, labels=args.labels)
    atomic_write_bytes(out / 'stage_one_comparison.json',
                       (json.dumps(report, indent=1, allow_nan=True) + '\n').encode())
    atomic_write_bytes(out / 'stage_one_comparison.md', text.encode())
    print(text)
    print(f'report: {out / "stage_one_comparison.json"}, {out / "stage_one_comparison.md"}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
