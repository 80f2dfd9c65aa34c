"""Choose a slimmable bank's sub-network for a FLOPs budget without labels (SlimDA's UPEM).

    python tools/select_subnet.py CONFIG BANK.pth --budget GFLOPS --images DIR
                                  [--per-stage N] [--seed S] [--input-size H W]
                                  [--max-images N] [--no-calibration]
                                  [--distance kl|js|l1] [--out OUT.pth] [--device cpu]

CONFIG is the bank's config (``configs/slimda/``), BANK.pth its stage-one export. The candidates
are the uniform widths and, with --per-stage N, N seeded sub-networks within the budget whose
stages (the config's ``width_stages``) run at different widths. Every candidate is counted (FLOPs
of one forward at --input-size, default the config's training crop), has its BatchNorm statistics
re-estimated on the images of DIR (unlabelled target frames), and is scored by UPEM, its mean KL
from the widest width's predictions; the lowest UPEM within the budget wins. Prints the table;
--out writes the bank with the chosen sub-network's statistics calibrated and the choice in its
meta, which tools/test.py evaluates with the ``--cfg-options`` line printed
(``model.segmentor.inference_width=W``, or one width per stage).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, add_config_args, run_tool  # noqa: E402


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the bank\'s config (configs/slimda/...)')
    parser.add_argument('bank', help='the bank\'s weights (a SlimDA stage-one export)')
    parser.add_argument('--budget', type=float, required=True, metavar='GFLOPS',
                        help='the most GFLOPs one forward at --input-size may take')
    parser.add_argument('--images', required=True,
                        help='a folder of unlabelled target frames (a seeded sample is read)')
    parser.add_argument('--per-stage', type=int, default=0, metavar='N',
                        help='add N seeded sub-networks with a width per stage (default 0)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the per-stage candidates')
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='where the FLOPs are counted (default: the training crop)')
    parser.add_argument('--max-images', type=int, default=64,
                        help='frames sampled for calibration and UPEM (default 64)')
    parser.add_argument('--no-calibration', action='store_true',
                        help='keep the trained BatchNorm statistics')
    parser.add_argument('--distance', choices=('kl', 'js', 'l1'), default='kl')
    parser.add_argument('--out', help='write the calibrated bank with the choice in its meta')
    parser.add_argument('--device', default='cpu')
    add_config_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mtda.apis.infer import load_segmentor
    from mtda.apis.select_subnet import image_batches, score_subnets
    from mtda.config import load_config
    from mtda.errors import MtdaError
    from mtda.io import atomic_save
    from mtda.io.atomic import check_output_path
    from mtda.io.checkpoint import clean_meta, provenance
    from mtda.models.slimmable import SlimmableEncoderDecoder

    if args.out:
        check_output_path(Path(args.out), option='--out')
    cfg = load_config(args.config, cfg_options=args.cfg_options)
    bank = load_segmentor(cfg, args.bank, device=args.device)
    if not isinstance(bank, SlimmableEncoderDecoder):
        raise MtdaError(f'{args.config}: not a slimmable bank ({type(bank).__name__}); pass a '
                        'configs/slimda/ config')
    input_size = tuple(args.input_size or bank.data_preprocessor.size or (512, 512))
    batches = image_batches(bank, args.images, count=args.max_images)
    choice = score_subnets(bank, batches, budget_flops=args.budget * 1e9, input_size=input_size,
                           per_stage=args.per_stage, seed=args.seed,
                           calibrate=not args.no_calibration, distance=args.distance)
    print(f'{choice.images} frames of {args.images}; FLOPs at {input_size[0]}x{input_size[1]}; '
          f'budget {args.budget:g} GFLOPs')
    print(f'| width{" per stage" if bank.width_stages else ""} | GFLOPs | '
          f'UPEM ({args.distance} to the widest) | within budget |')
    print('|---|---|---|---|')
    for index, (widths, flops, score) in enumerate(zip(choice.widths, choice.flops, choice.upem)):
        mark = ' **chosen**' if index == choice.chosen else ''
        print(f'| {_widths_text(widths)}{mark} | {flops / 1e9:.4f} | {score:.4f} | '
              f'{"yes" if flops <= choice.budget_flops else "no"} |')
    if args.out:
        record = dict(bank.checkpoint_meta, **provenance([args.bank], kind='slimmable subnet'),
                      slimmable_width=list(choice.width),
                      selection=dict(budget_gflops=args.budget, input_size=list(input_size),
                                     widths=[list(w) for w in choice.widths],
                                     flops=choice.flops, upem=choice.upem,
                                     images=choice.images, calibrated=not args.no_calibration,
                                     distance=args.distance))
        atomic_save(dict(state_dict=bank.state_dict(), meta=clean_meta(record)), args.out)
        width = (f'{choice.width[0]:g}' if len(set(choice.width)) == 1
                 else '[' + ','.join(f'{w:g}' for w in choice.width) + ']')
        print(f'wrote {args.out}: evaluate it with tools/test.py {args.config} {args.out} '
              f'--cfg-options model.segmentor.inference_width={width}')


def _widths_text(widths) -> str:
    return f'{widths[0]:g}' if len(set(widths)) == 1 else '/'.join(f'{w:g}' for w in widths)


if __name__ == '__main__':
    sys.exit(run_tool(main))
