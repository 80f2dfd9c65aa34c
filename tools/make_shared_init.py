"""Write an experiment's shared init: the checkpoint every stage-one run starts from.

    python tools/make_shared_init.py CONFIG --out pretrained/init.pth \
        [--backbone-weights pretrained/mit_b5.pth|packaged
         [--backbone-format auto|segformer|mmseg|efficientnet-lite]]
        [--from-checkpoint work_dirs/source_only/weights/final.pth] [--seed 0]

Prints the file's sha256; stage-one checkpoints record it and tools/merge.py checks it.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402
from mtda.models.pretrained import BACKBONE_FORMATS  # noqa: E402


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='experiment config (its segmentor is built)')
    parser.add_argument('--out', required=True, help='init checkpoint to write')
    parser.add_argument('--backbone-weights',
                        help='local pretrained backbone file, or "packaged": the ImageNet weights '
                             'an installed package ships for the config\'s backbone '
                             '(EfficientNet-Lite)')
    parser.add_argument('--backbone-format', default='auto', choices=BACKBONE_FORMATS)
    parser.add_argument('--from-checkpoint', help='start from this whole segmentor checkpoint')
    parser.add_argument('--seed', type=int, default=0, help='seed for the head init')
    args = parser.parse_args(argv)
    from mtda.config import load_config
    from mtda.models.shared_init import make_shared_init
    cfg = load_config(args.config)
    digest = make_shared_init(cfg, args.out, seed=args.seed, backbone_weights=args.backbone_weights,
                              backbone_format=args.backbone_format,
                              from_checkpoint=args.from_checkpoint)
    print(f'wrote {args.out}\nweights sha256 (the runs\' init_sha256) {digest}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
