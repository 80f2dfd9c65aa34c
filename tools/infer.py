"""Predict a folder of frames, an image or a video with a single, merged or separate-heads model.

    python tools/infer.py CONFIG CKPT INPUT --out-dir DIR [--domain DOMAIN]
                          [--model student|teacher] [--opacity 0.5] [--device cpu]

INPUT is a folder (its images, sorted, sub-folders kept in the names), one image or a video.
For every frame DIR/pred/<name>.png holds the trainId prediction and DIR/overlay/<name>.jpg the
frame with the colourised prediction over it. CONFIG is any config of the model (stage-one,
experiment or source-only); ``--domain`` picks the head of a ``tools/merge.py --heads separate``
file (default: its merged head).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, add_config_args, run_tool  # noqa: E402
from mtda.io.segmentor_state import MODEL_ROLES  # noqa: E402


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a config of the model (stage-one, experiment, source-only)')
    parser.add_argument('checkpoint', help='weights (loaded weights-only)')
    parser.add_argument('input', help='a folder of images, one image, or a video')
    parser.add_argument('--out-dir', required=True, help='where pred/ and overlay/ are written')
    parser.add_argument('--domain', help='the target domain whose own head predicts (a file '
                        'merged with --heads separate)')
    parser.add_argument('--model', choices=MODEL_ROLES, default='student',
                        help='segmentor to read from a full UDA checkpoint (iter_N.pth)')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='weight of the colours in the overlay, in [0, 1] (default 0.5)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:1 ...')
    add_config_args(parser)
    args = parser.parse_args(argv)
    if not 0.0 <= args.opacity <= 1.0:
        parser.error(f'--opacity {args.opacity} is outside [0, 1]')
    return args


def main(argv=None):
    args = parse_args(argv)
    from tqdm import tqdm

    from mtda.apis.infer import load_segmentor, predict, read_frames, write_prediction
    from mtda.config import load_config
    from mtda.io.atomic import check_output_path

    check_output_path(args.out_dir, option='--out-dir', folder=True)
    cfg = load_config(args.config, cfg_options=args.cfg_options)
    segmentor = load_segmentor(cfg, args.checkpoint, domain=args.domain, model=args.model,
                               device=args.device)
    palette = segmentor.dataset_meta['palette']
    count = 0
    for name, frame in tqdm(read_frames(args.input), desc='predicting', unit='frame',
                            disable=None):
        write_prediction(args.out_dir, name, frame, predict(segmentor, frame), palette,
                         opacity=args.opacity)
        count += 1
    print(f'{count} frame(s): predictions in {Path(args.out_dir) / "pred"}, overlays in '
          f'{Path(args.out_dir) / "overlay"}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
