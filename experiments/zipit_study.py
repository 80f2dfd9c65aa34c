"""ZipIt! beside averaging and Git Re-Basin, on shared-init and different-init stage-one models.

For main-job work dirs of several seeds (:class:`~experiments.layout.JobLayout`; each seed starts
its four stage-one runs from its own shared init, so two seeds' models do not share an init):

* **shared init** (one seed's four models): the average, and the averaged encoder with each
  domain's own head (the main job's ``merged/pool`` and ``merged/own_heads``), Git Re-Basin and
  ZipIt!, full and backbone-only (the main job's ``methods/``), and ZipIt! on 16 and 256 source
  images beside the main job's 64 (the image-count sweep);
* **different init** (Cityscapes and ACDC of seed s, IDD and Dark Zurich of the next seed): the
  same five merges (``--allow-different-init`` for the average and Re-Basin).

Every merge is ``tools/merge.py`` with its defaults, evaluated on the four targets; its
results.json goes to ``<work dir>/zipit/<row>/``. :func:`summarise` pairs the rows within each
seed: mean ± sample std over seeds of each row's per-domain mIoU and H-mean, and of its H-mean
minus the same setting's average. :func:`model_cost` gives the parameters and FLOPs of a merged
model and of a backbone-only zip (one shared backbone, N heads).
"""
from pathlib import Path
from statistics import mean, stdev
from typing import Mapping, Sequence

from .layout import METHOD_ROWS, TARGETS, JobLayout

#: (row key, setting, label, tools/merge.py options)
ZIP_ROWS = (
    ('zipit_16', 'shared', 'ZipIt!, 16 images', ('--method', 'zipit', '--zip-count', '16')),
    ('zipit_256', 'shared', 'ZipIt!, 256 images', ('--method', 'zipit', '--zip-count', '256')),
    ('average', 'different', 'average', ('--allow-different-init',)),
    ('own_heads', 'different', 'average encoder, own heads',
     ('--allow-different-init', '--heads', 'separate')),
    ('rebasin', 'different', 'Git Re-Basin', ('--method', 'rebasin', '--allow-different-init')),
    ('zipit', 'different', 'ZipIt!, 64 images', ('--method', 'zipit')),
    ('zipit_backbone', 'different', 'ZipIt! backbone, own heads',
     ('--method', 'zipit', '--zip-until', 'decode_head')),
)
#: the different-init set: which targets come from the partner seed's models
PARTNER_TARGETS = ('idd', 'dark_zurich')


def single_weights(layout: JobLayout, partner: JobLayout, setting: str) -> list:
    """The four stage-one exports of a setting, in target order."""
    return [(partner if setting == 'different' and t in PARTNER_TARGETS else layout)
            .stage_one_weights(t) for t in TARGETS]


def merge_steps(config, layout: JobLayout, partner: JobLayout) -> list:
    """``(tool, args, log)`` of the study's merges whose results are missing."""
    steps = []
    for key, setting, label, options in ZIP_ROWS:
        out = layout.root / 'zipit' / f'{setting}_{key}'
        if not (out / 'results.json').exists():
            steps.append(('merge.py', [config, *single_weights(layout, partner, setting),
                                       '--out', out / 'merged.pth', '--work-dir', out,
                                       '--name', f'{setting} init: {label}', *options],
                          out / 'merge.out'))
    return steps


def rows_of(layout: JobLayout) -> dict:
    """``{(setting, row): results record}`` of one seed, the main job's merges included."""
    from mtda.evaluation import read_results

    def one(folder: Path) -> dict:
        return read_results(folder / 'results.json')[0]
    folders = {('shared', 'average'): layout.root / 'merged' / 'pool',
               ('shared', 'own_heads'): layout.root / 'merged' / 'own_heads'}
    for row in METHOD_ROWS:
        if row.method in ('rebasin', 'zipit'):
            folders[('shared', row.folder)] = layout.method_dir(row.folder)
    for key, setting, _, _ in ZIP_ROWS:
        folders[(setting, key)] = layout.root / 'zipit' / f'{setting}_{key}'
    return {name: one(folder) for name, folder in folders.items()
            if (folder / 'results.json').exists()}


def model_cost(cfg, *, tail: str = 'decode_head', num_models: int = len(TARGETS),
               image_size=(64, 128)) -> dict:
    """Parameters and FLOPs (mmengine's FlopAnalyzer, one image of ``image_size``) of the config's
    segmentor, which every full merge keeps, and of a zip up to ``tail``: the trunk once and
    ``num_models`` copies of ``tail`` (an image goes through the trunk and its domain's tail, so
    its FLOPs are a single model's; all tails on one image cost ``num_models − 1`` tails more)."""
    import torch
    from mmengine.analysis import FlopAnalyzer

    from mtda.models.segmentor import build_segmentor

    class Logits(torch.nn.Module):
        def __init__(self, segmentor):
            super().__init__()
            self.segmentor = segmentor

        def forward(self, image):
            return self.segmentor(image, mode='tensor')

    segmentor = build_segmentor(cfg).eval()
    analyzer = FlopAnalyzer(Logits(segmentor), (torch.zeros(1, 3, *image_size),))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    flops, tail_flops = analyzer.total(), analyzer.by_module()[f'segmentor.{tail}']
    params = sum(p.numel() for p in segmentor.parameters())
    tail_params = sum(p.numel() for name, p in segmentor.named_parameters()
                      if name.startswith(tail + '.'))
    extra = num_models - 1
    return dict(image_size=list(image_size), params=params, flops=flops, tail=tail,
                tail_params=tail_params, tail_flops=tail_flops,
                zipped_trunk_params=params + extra * tail_params,
                zipped_trunk_flops_all_tails=flops + extra * tail_flops)


def _spread(values: Sequence[float]) -> dict:
    return dict(mean=mean(values), std=stdev(values) if len(values) > 1 else 0.0, n=len(values),
                values=list(values))


def summarise(per_seed: Mapping[str, Mapping]) -> dict:
    """``{setting: {row: {'domains': {d: spread}, 'hmean': spread, 'hmean_minus_average': spread}}}``
    over the seeds that have the row and the setting's average."""
    names = sorted({name for rows in per_seed.values() for name in rows})
    summary: dict = {}
    for setting, row in names:
        runs = [rows for rows in per_seed.values()
                if (setting, row) in rows and (setting, 'average') in rows]
        if not runs:
            continue
        records = [rows[(setting, row)] for rows in runs]
        summary.setdefault(setting, {})[row] = dict(
            label=records[0]['name'],
            domains={d: _spread([r['domains'][d]['mIoU'] for r in records]) for d in TARGETS},
            hmean=_spread([r['hmean'] for r in records]),
            hmean_minus_average=_spread([rows[(setting, row)]['hmean']
                                         - rows[(setting, 'average')]['hmean'] for rows in runs]))
    return summary


def render_markdown(summary: Mapping) -> str:
    """The study's table: per-domain mIoU and H-mean, mean ± std over seeds, and the paired gap."""
    lines = ['| init | merge | ' + ' | '.join(TARGETS) + ' | H-mean | H − average | seeds |',
             '|' + '---|' * (len(TARGETS) + 5)]
    for setting, rows in summary.items():
        for row, record in rows.items():
            cells = [f'{record["domains"][d]["mean"]:.1f} ± {record["domains"][d]["std"]:.1f}'
                     for d in TARGETS]
            gap = record['hmean_minus_average']
            lines.append(f'| {setting} | {record["label"]} | ' + ' | '.join(cells)
                         + f' | {record["hmean"]["mean"]:.1f} ± {record["hmean"]["std"]:.1f}'
                         f' | {gap["mean"]:+.1f} ± {gap["std"]:.1f} | {record["hmean"]["n"]} |')
    return '\n'.join(lines) + '\n'
