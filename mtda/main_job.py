"""The main job end to end on the miniature synthetic data (what ``tools/run_mtda.py`` runs).

data (synthetic, raw layouts) -> label conversion -> training -> evaluation on every target ->
``<work_dir>/results.{json,md,csv}`` and the table printed. Each training and evaluation step is
an independent ``tools/train.py`` / ``tools/test.py`` process, exactly as it would run on a
cluster; this module only orders them.

Until stage one and two land, the trained model is the source-only GTA baseline.
"""
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

from .errors import MtdaError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / 'configs' / 'source_only' / 'gta_segformer_mit-b0_tiny.py'


def _step(title: str) -> None:
    print(f'\n=== {title}', flush=True)


def _run(tool: str, args: List[str]) -> None:
    cmd = [sys.executable, str(REPO / 'tools' / tool), *args]
    print('$ ' + ' '.join(cmd[1:]), flush=True)
    if subprocess.run(cmd).returncode != 0:
        raise MtdaError(f'{tool} failed (command above); its log is in the work dir')


def run_main_job(config=DEFAULT_CONFIG, *, work_dir='work_dirs/mtda_tiny', data_root='data',
                 seed: int = 0, max_iters: Optional[int] = None) -> Path:
    """Run the whole job; return the results.md path.

    Args:
        config: the experiment config (its datasets read ``data/...`` relative to the cwd).
        work_dir: where checkpoints, logs and results go.
        data_root: where the synthetic datasets are written if missing (the configs read
            ``data/``; change both together).
        seed: data and training seed.
        max_iters: override the config's training length.
    """
    from .datasets.converters import convert_all
    from .datasets.synthetic import make_synthetic_datasets

    start = time.time()
    work_dir = Path(work_dir)
    _step(f'data: miniature synthetic datasets in {data_root}/ (existing ones are kept)')
    make_synthetic_datasets(data_root, size='tiny', seed=seed)
    _step('labels: tools/convert_datasets/* on the raw files')
    convert_all(data_root)

    train_dir = work_dir / 'source_only'
    options = [f'randomness.seed={seed}']
    if max_iters:
        options += [f'train_cfg.max_iters={max_iters}', f'train_cfg.val_interval={max_iters}']
    _step(f'training: {Path(config).name}')
    _run('train.py', [str(config), '--work-dir', str(train_dir), '--cfg-options', *options])
    _step('evaluation on every target domain')
    _run('test.py', [str(config), str(train_dir / 'weights' / 'final.pth'), '--work-dir',
                     str(work_dir), '--name', 'source-only (GTA)'])
    print(f'\nmain job finished in {(time.time() - start) / 60:.1f} min; '
          f'table: {work_dir / "results.md"}')
    return work_dir / 'results.md'
