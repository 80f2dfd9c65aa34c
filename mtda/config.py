"""Loading an experiment config the way mmseg's tools do, with one-line errors."""
import os
import os.path as osp
from typing import Mapping, Optional

from mmengine.config import Config

from .errors import MtdaError


def load_config(path, *, cfg_options: Optional[Mapping] = None, work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read ``path``, apply ``--cfg-options``, set ``work_dir`` (default
    ``work_dirs/<config name>``) and the launcher."""
    if not osp.isfile(path):
        raise MtdaError(f'{path}: no such config file; pass one of the files under configs/')
    try:
        cfg = Config.fromfile(path)
    except Exception as exc:  # a config is Python: any error in it surfaces here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MtdaError(f'{path}: the config does not load ({type(exc).__name__}: {first}); '
                        'fix the file or its _base_ entries') from None
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(path))[0])
    os.environ.setdefault('LOCAL_RANK', '0')
    return cfg


def check_target_domain(cfg) -> None:
    """A stage-one config's ``target_domain`` must be one of the domains it evaluates.

    The name is written into every exported checkpoint and is how ``merge.py --heads separate``
    gives each domain its own head, so a typo would surface only at merge time.

    Raises:
        MtdaError: ``target_domain`` is not a key of ``test_cfg.domains`` (or ``val_cfg.domains``).
    """
    target = cfg.get('target_domain')
    if target is None:
        return
    domains = []
    for part in ('test_cfg', 'val_cfg'):
        loop = cfg.get(part) or {}
        domains += [d for d in (loop.get('domains') or {}) if d not in domains]
    if domains and target not in domains:
        raise MtdaError(f'target_domain {target!r}: unknown target; the config evaluates '
                        f'{", ".join(domains)}; set target_domain (or --cfg-options '
                        'target_domain=...) to one of them, or add the domain to test_cfg.domains')
