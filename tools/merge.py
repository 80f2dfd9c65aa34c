"""Merge per-domain checkpoints without data, save the result, evaluate it on every target domain.

    python tools/merge.py CONFIG CKPT CKPT [CKPT ...] --out MERGED.pth [--weights w ...]
        [--buffers pool|mean|first] [--heads merge|separate] [--model student|teacher]
        [--domains d ...] [--allow-different-init] [--no-eval] [--safetensors] [--name NAME]
        [--method average|task-arithmetic|ties|dare|dare-ties --base INIT.pth [--scale L]
         [--density K] [--drop P] [--topk tensor|global] [--method-seed S]]
        [--method rebasin [--method-seed S]]
        [--method zipit [--zip-images source|DIR] [--zip-count N] [--zip-alpha A] [--zip-beta B]
         [--zip-until MODULE] [--method-seed S]]
        [--work-dir D] [--cfg-options k=v ...] [--verbose]

Stage two of mtda (docs/merging.md): parameters are averaged with the weights, BatchNorm statistics
pooled as a mixture (``--buffers pool``), one checkpoint in memory at a time. ``--method`` picks
another parameter rule on the task vectors against ``--base`` (task arithmetic, TIES, DARE; the
BatchNorm statistics still follow ``--buffers``); ``--method rebasin`` first permutes every input onto
the first by Git Re-Basin's weight matching, then averages; ``--method zipit`` matches features on
a few images (the source images by default: not data-free) and zips the models feature by feature,
up to ``--zip-until`` (the rest kept per domain, evaluated as ``--heads separate`` is). The merge
happens in a ``MergeHook`` registered on CONFIG's runner (:func:`mtda.apis.merge_checkpoints`), so
the merged model is evaluated by the config's own test loop; results.json/md/csv go to the work
dir.
``--no-eval`` only merges and saves (no data needed). The terminal shows warnings and the table;
mmengine's full log goes to the file named at the end (``--verbose``: to the terminal too).
"""
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, add_config_args, current_log_file, run_tool  # noqa: E402
from mtda.merging.files import (BUFFER_POLICIES, HEAD_POLICIES, METHODS, MODEL_ROLES,  # noqa: E402
                                TOPK_SCOPES)


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='experiment config: the model and the target domains')
    parser.add_argument('checkpoints', nargs='+', metavar='CKPT',
                        help='two or more checkpoints fine-tuned from one init (weights-only '
                             'exports of stage one, or its full checkpoints)')
    parser.add_argument('--out', required=True, help='the merged checkpoint (.pth) to write')
    parser.add_argument('--weights', nargs='+', type=float, metavar='W',
                        help='one positive parameter weight per checkpoint (normalised; '
                             'default uniform)')
    parser.add_argument('--buffers', choices=BUFFER_POLICIES, default='pool',
                        help='BatchNorm statistics: pool the domains\' Gaussians (the paper), '
                             'average them, or keep the first checkpoint\'s')
    parser.add_argument('--heads', choices=HEAD_POLICIES, default='merge',
                        help='separate: merge the encoder, evaluate each domain with its own '
                             'checkpoint\'s decode head (the paper\'s Ours†)')
    parser.add_argument('--model', choices=MODEL_ROLES, default='student',
                        help='segmentor to read from a full UDA checkpoint (exports are the '
                             'student)')
    parser.add_argument('--domains', nargs='+', metavar='DOMAIN',
                        help='target domain of each checkpoint, for --heads separate (default: '
                             'the target_domain each checkpoint\'s meta records)')
    parser.add_argument('--allow-different-init', action='store_true',
                        help='merge checkpoints that record different shared inits')
    parser.add_argument('--no-eval', action='store_true',
                        help='merge and save only: no evaluation, no results files')
    parser.add_argument('--safetensors', action='store_true',
                        help='also write the merged weights as OUT with suffix .safetensors')
    parser.add_argument('--name', default='', help='row label in the tables (default: OUT stem)')
    parser.add_argument('--verbose', action='store_true',
                        help="print mmengine's whole log to the terminal too, not only to the "
                             'log file')
    method = parser.add_argument_group('merge method (docs/merging.md)')
    method.add_argument('--method', choices=METHODS, default='average',
                        help='parameter rule: the weighted average (the paper), one on the task '
                             'vectors against --base, or rebasin (match every input to the first '
                             'by permutations, then average)')
    method.add_argument('--base', help='the shared init the checkpoints were trained from (every '
                        'method but average); checked against their recorded init sha256')
    method.add_argument('--scale', type=float, help='lambda (default: 1/N for task-arithmetic and '
                        'dare, 1 for ties and dare-ties)')
    method.add_argument('--density', type=float, default=0.2,
                        help='ties: the fraction of each task vector kept (default 0.2, the paper\'s)')
    method.add_argument('--drop', type=float, default=0.9,
                        help='dare: the drop probability (default 0.9, the paper\'s)')
    method.add_argument('--topk', choices=TOPK_SCOPES, default='tensor',
                        help='ties: top-k per tensor (default) or over the whole model')
    method.add_argument('--method-seed', type=int, default=0,
                        help='dare: seed of the masks; rebasin: seed of the order the permutation '
                             'groups are visited in; zipit: seed of the image sample')
    zipit = parser.add_argument_group('ZipIt! (--method zipit; docs/merging.md)')
    zipit.add_argument('--zip-images', metavar='source|DIR',
                       help="images the features are matched on: the config's labelled source "
                            'images (default; no target image leaves its site) or a folder')
    zipit.add_argument('--zip-count', type=int, metavar='N',
                       help='how many of those images (a seeded sample; default 64)')
    zipit.add_argument('--zip-alpha', type=float, metavar='A',
                       help='repeat-match damping in (0, 1], or <= 0 for one feature per model in '
                            'a merged feature (default 1)')
    zipit.add_argument('--zip-beta', type=float, metavar='B',
                       help='share of merges allowed within one model, in [0, 1] (default 0)')
    zipit.add_argument('--zip-until', metavar='MODULE',
                       help='zip the entries before the first one of MODULE (decode_head: the '
                            'backbone; backbone.layer3: up to that stage) and keep the rest per '
                            'domain')
    add_config_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mtda.apis import merge_checkpoints
    from mtda.config import load_config
    from mtda.evaluation import render_markdown, write_results
    from mtda.merging.files import MergeSpec

    spec = MergeSpec(args.checkpoints, weights=args.weights, buffers=args.buffers,
                     heads=args.heads, model=args.model, domains=args.domains,
                     allow_different_init=args.allow_different_init, out=args.out,
                     safetensors=args.safetensors, method=args.method, base=args.base,
                     scale=args.scale, density=args.density, drop=args.drop, topk=args.topk,
                     method_seed=args.method_seed, zip_images=args.zip_images,
                     zip_count=args.zip_count, zip_alpha=args.zip_alpha, zip_beta=args.zip_beta,
                     zip_until=args.zip_until)
    for line in spec.warnings:
        print(f'warning: {line}', file=sys.stderr)
    cfg = load_config(args.config, cfg_options=args.cfg_options, work_dir=args.work_dir,
                      launcher=args.launcher)
    hook, results = merge_checkpoints(cfg, spec, evaluate=not args.no_eval, name=args.name,
                                      full_terminal_log=args.verbose)
    print(f'merged {len(args.checkpoints)} checkpoints: {", ".join(map(str, hook.saved))}')
    for name, matching in hook.merged.matchings.items():
        print(f'Re-Basin: {name} matched to {args.checkpoints[0]}, '
              f'{100 * matching.fixed_fraction():.1f} % of its units left in place')
    if args.method == 'zipit':
        zipped = hook.merged.result.method_options
        print(f'ZipIt!: {zipped["zipped_groups"]} feature spaces zipped on {zipped["images_read"]} '
              f'{zipped["images"]} images, {zipped["within_model_merges"]} merges within a model'
              + (f'; per-domain tails from {zipped["until"]} on for '
                 f'{", ".join(hook.merged.domain_heads)}' if zipped['until'] else ''))
    if results is not None:
        paths = write_results([results], cfg.work_dir)
        print(render_markdown([results]))
        print(f'results: {paths["json"]}, {paths["md"]}, {paths["csv"]}')
        print(f'full log: {current_log_file()}')


if __name__ == '__main__':
    # Library warnings go to stdout with the log, so stderr carries only our warnings and errors.
    logging.captureWarnings(True)
    logging.getLogger('py.warnings').addHandler(logging.StreamHandler(sys.stdout))
    sys.exit(run_tool(main))
