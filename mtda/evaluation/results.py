"""Results files: JSON is the data; Markdown and CSV are views rendered from it (docs/results_files.md).

One model's results::

    {"checkpoint": "...", "classes": [19 names],
     "domains": {"cityscapes": {"mIoU": 61.3, "aAcc": 93.1, "IoU": {"road": 95.2, ...},
                                "num_images": 500}, ...},
     "hmean": 36.4, "mean": 41.2}

NaN (a class absent from prediction and ground truth) is written as ``null``. For SYNTHIA-source
models every domain also gets ``mIoU16`` and ``mIoU13`` over the FDA class subsets. A table of
several models (``results.md``/``results.csv`` of run_mtda or merge) is a list of such records,
each with a ``name``; ``results.json`` then holds ``{"classes": [...], "models": [...]}``.
"""
import csv
import io
import json
import math
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from ..datasets.label_maps import CLASSES, SYNTHIA_13_CLASSES, SYNTHIA_16_CLASSES
from ..io.atomic import atomic_write_bytes
from .scores import harmonic_mean, nanmean


def _none_if_nan(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _subset_miou(iou_by_class: Mapping[str, Optional[float]], classes: Sequence[str],
                 subset: Sequence[int]) -> float:
    return nanmean(float('nan') if iou_by_class.get(classes[i]) is None
                   else iou_by_class[classes[i]] for i in subset)


def model_results(domain_metrics: Mapping[str, Mapping], *, checkpoint: str = '',
                  name: str = '', classes: Sequence[str] = CLASSES,
                  source: Optional[str] = None) -> dict:
    """The results record of one model from the multi-domain loop's ``domain_metrics``.

    Args:
        domain_metrics: ``{domain: {'mIoU', 'aAcc', 'mAcc', 'num_images', 'IoU': {cls: v}}}``.
        checkpoint: the evaluated file.
        name: a row label for tables (default: the checkpoint's file name).
        classes: class names in trainId order.
        source: the source data set; ``'synthia'`` adds mIoU16/mIoU13 per domain.
    """
    domains = {}
    for domain, metrics in domain_metrics.items():
        iou = {c: _none_if_nan(metrics['IoU'].get(c)) for c in classes}
        record = dict(mIoU=metrics['mIoU'], aAcc=metrics.get('aAcc'), IoU=iou,
                      num_images=int(metrics.get('num_images', 0)))
        if source == 'synthia':
            record['mIoU16'] = _subset_miou(iou, classes, SYNTHIA_16_CLASSES)
            record['mIoU13'] = _subset_miou(iou, classes, SYNTHIA_13_CLASSES)
        domains[domain] = record
    mious = [d['mIoU'] for d in domains.values()]
    return dict(name=name or Path(checkpoint).stem, checkpoint=str(checkpoint),
                classes=list(classes), domains=domains, hmean=harmonic_mean(mious),
                mean=nanmean(mious))


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return _none_if_nan(obj)


def _fmt(value) -> str:
    return '–' if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f'{value:.1f}'


def render_markdown(models: Sequence[Mapping], *, title: str = '') -> str:
    """Rows = models, columns = domains then H-mean (and mean); below, the per-class IoU: its
    harmonic mean over the domains, then one table per domain."""
    domains = list(models[0]['domains'])
    classes = models[0]['classes']
    lines = [f'## {title}', ''] if title else []
    header = ['model', *domains, 'H-mean', 'mean']
    lines += ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for m in models:
        cells = [m['name'], *(_fmt(m['domains'][d]['mIoU']) for d in domains),
                 f"**{_fmt(m['hmean'])}**", _fmt(m['mean'])]
        lines.append('| ' + ' | '.join(cells) + ' |')
    extra = [k for k in ('mIoU16', 'mIoU13') if k in next(iter(models[0]['domains'].values()))]
    for key in extra:
        lines += ['', f'{key} (SYNTHIA class subset):', '',
                  '| model | ' + ' | '.join(domains) + ' |', '|' + '---|' * (len(domains) + 1)]
        for m in models:
            lines.append('| ' + ' | '.join([m['name'], *(_fmt(m['domains'][d][key])
                                                         for d in domains)]) + ' |')
    lines += ['', f'Per-class IoU, harmonic mean over the {len(domains)} domains '
              '(– = class absent from prediction and ground truth everywhere):', '',
              '| model | ' + ' | '.join(classes) + ' |', '|' + '---|' * (len(classes) + 1)]
    for m in models:
        lines.append('| ' + ' | '.join([m['name'], *(_fmt(v) for v in
                                                     per_class_hmean(m).values())]) + ' |')
    for domain in domains:
        lines += ['', f'Per-class IoU, {domain} (– = class absent from its prediction and ground '
                      'truth):', '',
                  '| model | ' + ' | '.join(classes) + ' |', '|' + '---|' * (len(classes) + 1)]
        for m in models:
            iou = m['domains'][domain]['IoU']
            lines.append('| ' + ' | '.join([m['name'], *(_fmt(iou[c]) for c in classes)]) + ' |')
    return '\n'.join(lines) + '\n'


def per_class_hmean(model: Mapping) -> Dict[str, float]:
    """Per class, the harmonic mean of its IoU over the domains where it is defined."""
    out = {}
    for c in model['classes']:
        values = [d['IoU'][c] for d in model['domains'].values() if d['IoU'][c] is not None]
        out[c] = harmonic_mean(values) if values else float('nan')
    return out


def render_csv(models: Sequence[Mapping]) -> str:
    """One row per (model, domain) with mIoU, aAcc and every class IoU; H-mean rows per model."""
    classes = models[0]['classes']
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['model', 'domain', 'mIoU', 'aAcc', 'num_images', *classes])
    for m in models:
        for domain, d in m['domains'].items():
            writer.writerow([m['name'], domain, d['mIoU'], d['aAcc'], d['num_images'],
                             *('' if d['IoU'][c] is None else d['IoU'][c] for c in classes)])
        writer.writerow([m['name'], 'hmean', m['hmean'], '', '',
                         *('' if math.isnan(v) else v for v in per_class_hmean(m).values())])
    return buf.getvalue()


def _atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


def write_results(models: Sequence[Mapping], work_dir, *, title: str = '') -> Dict[str, Path]:
    """Write results.json, results.md and results.csv into ``work_dir`` (atomically)."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    models = [_clean(dict(m)) for m in models]
    data = models[0] if len(models) == 1 else dict(classes=models[0]['classes'], models=models)
    paths = dict(json=work_dir / 'results.json', md=work_dir / 'results.md',
                 csv=work_dir / 'results.csv')
    _atomic_write_text(paths['json'], json.dumps(data, indent=1) + '\n')
    _atomic_write_text(paths['md'], render_markdown(models, title=title))
    _atomic_write_text(paths['csv'], render_csv(models))
    return paths


def read_results(path) -> List[dict]:
    """The model records of a results.json (one or many)."""
    data = json.loads(Path(path).read_text())
    return data['models'] if 'models' in data else [data]
