"""Figures rendered from results records (the data stays in results.json)."""
from pathlib import Path
from typing import Mapping, Sequence


def plot_domain_bars(models: Sequence[Mapping], out) -> Path:
    """Grouped bars: per-domain mIoU and H-mean for each model; written atomically as PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    from ..io.atomic import atomic_write_bytes

    domains = list(models[0]['domains'])
    groups = [*domains, 'H-mean']
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(2 + 1.6 * len(groups), 4))
    for i, model in enumerate(models):
        values = [model['domains'][d]['mIoU'] or 0.0 for d in domains] + [model['hmean'] or 0.0]
        ax.bar(np.arange(len(groups)) + (i - (len(models) - 1) / 2) * width, values, width,
               label=model['name'])
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set_ylabel('mIoU (%)')
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=120)
    plt.close(fig)
    return atomic_write_bytes(Path(out), buf.getvalue())
