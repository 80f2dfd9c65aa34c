"""Route a new domain's frames to the model that fits them best, without labels.

    python tools/route.py CONFIG --experts A.pth B.pth ... [--merged M.pth ...] --images DIR
                          [--criterion bn|entropy|agreement|labels] [--labels DIR] [--per-image]
                          [--predict] [--out-dir D] [--no-bn] [--device cpu]

Every candidate (the per-domain experts and the merged models) predicts every frame of DIR (a
folder, an image or a video), and is scored by the label-free criteria of docs/routing.md:

* ``bn`` (default): KL between the Gaussians of what each BatchNorm layer sees on the new frames
  and the running statistics it stored in training (forward only; the experts' side is what stage
  two pools);
* ``entropy``: the mean normalised entropy of its predictions;
* ``agreement``: the mean KL from the ensemble's mean prediction to its prediction;
* ``labels``: mIoU on trainId PNGs named as the frames (``--labels DIR``), when a few exist.

Prints the scores of every criterion, the choice, and how many frames each candidate would get
routed one by one; writes route.json and route.md into --out-dir. ``--per-image`` routes each
frame on its own scores; ``--predict`` writes every frame's prediction by its candidate (pred/ and
overlay/ in --out-dir, as tools/infer.py does).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, add_config_args, run_tool  # noqa: E402

CRITERIA = ('bn', 'entropy', 'agreement', 'labels')


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a config of the candidates\' model (stage-one, experiment)')
    parser.add_argument('--experts', nargs='+', required=True, metavar='CKPT',
                        help='per-domain models (stage-one exports)')
    parser.add_argument('--merged', nargs='+', default=[], metavar='CKPT',
                        help='merged models, scored on the same scale')
    parser.add_argument('--images', required=True,
                        help='the new domain: a folder of frames, one image or a video')
    parser.add_argument('--criterion', choices=CRITERIA, default='bn',
                        help='what decides (default bn: BatchNorm-statistics KL)')
    parser.add_argument('--labels', metavar='DIR',
                        help='trainId PNGs named as the frames (DIR/<frame>.png): adds the labels '
                             'criterion (mIoU)')
    parser.add_argument('--per-image', action='store_true',
                        help='route every frame on its own scores (mixed streams)')
    parser.add_argument('--predict', action='store_true',
                        help='write each frame\'s prediction by its candidate into --out-dir')
    parser.add_argument('--out-dir', default='work_dirs/route',
                        help='route.json, route.md (and pred/, overlay/ with --predict)')
    parser.add_argument('--no-bn', action='store_true',
                        help='skip the bn criterion (models without BatchNorm)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:1 ...')
    add_config_args(parser)
    args = parser.parse_args(argv)
    if args.criterion == 'labels' and not args.labels:
        parser.error('--criterion labels needs --labels DIR')
    if args.criterion == 'bn' and args.no_bn:
        parser.error('--no-bn skips the bn criterion; pick another --criterion')
    return args


def main(argv=None):
    args = parse_args(argv)
    import json

    from mtda.apis.route import load_candidates, predict_routed, route_frames
    from mtda.config import load_config
    from mtda.io.atomic import atomic_write_bytes, check_output_path
    from mtda.routing.report import candidate_names, render_routing_markdown, routing_record

    out_dir = Path(args.out_dir)
    check_output_path(out_dir, option='--out-dir', folder=True)
    cfg = load_config(args.config, cfg_options=args.cfg_options)
    files = candidate_names(args.experts, args.merged)

    def progress(what):
        def report(index, name):
            if (index + 1) % 10 == 0:
                print(f'{index + 1} frame(s) {what}', flush=True)
        return report

    models = load_candidates(cfg, files, device=args.device)  # read once, for both passes
    scores = route_frames(models, args.images, labels=args.labels, bn=not args.no_bn,
                          on_frame=progress('scored'))
    record = routing_record(scores, criterion=args.criterion, files=files,
                            per_frame=args.per_image)
    table = render_routing_markdown(record)
    atomic_write_bytes(out_dir / 'route.json', (json.dumps(record, indent=1) + '\n').encode())
    atomic_write_bytes(out_dir / 'route.md', table.encode())
    print(table)
    print(f'results: {out_dir / "route.json"}, {out_dir / "route.md"}')
    if args.predict:
        picks = (record['frame_choices'] if args.per_image
                 else {frame: record['chosen'] for frame in scores.frames})
        count = predict_routed(models, args.images, picks, out_dir,
                               on_frame=progress('predicted'))
        print(f'{count} frame(s) predicted: {out_dir / "pred"}, {out_dir / "overlay"}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
