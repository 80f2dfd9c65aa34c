"""Convert a published DAFormer / MIC checkpoint (mmseg 0.x) into an mtda weights-only file.

    python tools/convert_checkpoint.py CONFIG CHECKPOINT OUT.pth [--network student|teacher]
                                       [--init pretrained/mit_b5.pth] [--trust-checkpoint]

CONFIG is the mtda config of the release's architecture (e.g.
configs/daformer/gta2cityscapes_daformer_mitb5.py for DAFormer's MiT-B5 models): the converted
weights must fill its segmentor exactly. The student (``model.*``, what DAFormer, MIC and the
paper evaluate) is taken unless ``--network teacher`` asks for the EMA model (``ema_model.*``);
the frozen ImageNet copy is dropped. ``--init`` names the pretrained file the releases were
fine-tuned from (SegFormer's ``mit_b5.pth`` for all MiT-B5 releases): the sha256 of its weights
goes into the output as ``init_sha256``, so ``tools/merge.py`` can check that converted models
share it. The output merges and evaluates like any stage-one export (``tools/merge.py``,
``tools/test.py``); see docs/published_checkpoints.md.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help="the mtda config of the release's architecture")
    parser.add_argument('checkpoint', help='the published checkpoint (mmseg 0.x)')
    parser.add_argument('out', help='the weights-only file to write')
    parser.add_argument('--network', choices=('student', 'teacher'), default='student',
                        help='which network of a UDA checkpoint (default: the student)')
    parser.add_argument('--init', help='the pretrained file the release started from '
                        '(recorded as init_sha256)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow full unpickling of CHECKPOINT (runs code in it; only for '
                             'files whose origin you trust)')
    args = parser.parse_args(argv)
    from mtda.config import load_config
    from mtda.models.published_checkpoints import convert_published_checkpoint
    from mtda.models.segmentor import build_segmentor
    cfg = load_config(args.config)
    out = convert_published_checkpoint(args.checkpoint, build_segmentor(cfg), args.out,
                                       network=args.network, init=args.init,
                                       config_name=Path(args.config).name,
                                       trust=args.trust_checkpoint)
    print(f'wrote {out} ({args.network} of {args.checkpoint})')


if __name__ == '__main__':
    sys.exit(run_tool(main))
