"""What the studies share: the target domains, the merges of the main table and where every step
writes, each defined once.

A study reads results back by the step that wrote them (a folder of this layout), never by the row
label printed in the tables.
"""
from dataclasses import dataclass
from pathlib import Path

#: the four target domains of the paper's multi-target setting, in its table order
TARGETS = ('cityscapes', 'idd', 'acdc', 'dark_zurich')


@dataclass(frozen=True)
class MergeRow:
    """One merge of the main table.

    Args:
        key: stable name: its folder under ``merged/`` and the key studies read it by.
        label: the row label in the tables.
        options: ``tools/merge.py`` options.
    """
    key: str
    label: str
    options: tuple


MERGE_ROWS = (
    MergeRow('pool', 'merged (pool BN)', ('--buffers', 'pool')),
    MergeRow('mean', 'merged (mean BN)', ('--buffers', 'mean')),
    MergeRow('first', 'merged (first BN)', ('--buffers', 'first')),
    MergeRow('own_heads', 'merged encoder, own heads', ('--buffers', 'pool', '--heads', 'separate')),
)
SOURCE_ONLY_LABEL = 'source-only (GTA)'


@dataclass(frozen=True)
class MethodRow:
    """One merge of the main job's second table (``methods/results.md``): the four stage-one models
    merged by ``method`` with its defaults (docs/merging.md), BatchNorm statistics pooled (ZipIt!
    re-estimates them on its images, the source images: the one row that is not data-free).

    Args:
        method: the ``tools/merge.py --method`` value.
        label: the row label in the tables.
        options: further ``tools/merge.py`` arguments.
        key: its folder under ``methods/`` (default: ``method``).
    """
    method: str
    label: str
    options: tuple = ()
    key: str = ''

    @property
    def folder(self) -> str:
        return self.key or self.method

    @property
    def uses_base(self) -> bool:
        """Whether the method takes task vectors against the shared init (``--base``)."""
        return self.method not in ('rebasin', 'zipit')


#: the merge methods beside the paper's average. Task arithmetic is left out: its data-free
#: default, λ = 1/N, makes it the average itself.
METHOD_ROWS = (
    MethodRow('ties', 'merged (TIES)'),
    MethodRow('dare', 'merged (DARE)'),
    MethodRow('dare-ties', 'merged (DARE-TIES)'),
    MethodRow('rebasin', 'merged (Git Re-Basin)'),
    MethodRow('zipit', 'zipped (ZipIt!, 64 source images)'),
    MethodRow('zipit', 'zipped backbone, own heads (ZipIt!)', ('--zip-until', 'decode_head'),
              key='zipit_backbone'),
)


def read_step_record(folder: Path, *, fix: str) -> dict:
    """The model record a step wrote into ``folder/results.json``; when it is missing, an error
    naming the file and ``fix`` (what to run to make it)."""
    from mtda.errors import MtdaError
    from mtda.evaluation import read_results
    path = Path(folder) / 'results.json'
    if not path.exists():
        raise MtdaError(f'{path}: missing; {fix}')
    return read_results(path)[0]


def single_label(target: str) -> str:
    """The table's row label of the stage-one model of ``target``."""
    return f'single: {target}'


@dataclass(frozen=True)
class JobLayout:
    """Where one main job (one model family, one seed) writes, under ``root``::

        shared_init.pth                      the init every stage-one run starts from
        source_only/weights/final.pth        the source-only model (the miniature's init source)
        stage_one/<target>/weights/final.pth one stage-one export per target
        eval/source_only/, eval/<target>/    results.json of the source-only and single models
        merged/<row key>/                    merged.pth and results.json per merge row
        methods/<method>/                    the same per merge method (METHOD_ROWS)
        methods/results.{json,md,csv}        the methods table: the average and every method
        oracle/<target>/                     target-supervised run + results.json (stage-one report)
        subsets/<C+I ...>/, lmc/<kind>/      the claims study's extra merges and sweeps
        results.{json,md,csv,png}, timing.json
    """
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, 'root', Path(self.root))

    @property
    def shared_init(self) -> Path:
        return self.root / 'shared_init.pth'

    @property
    def source_only_dir(self) -> Path:
        return self.root / 'source_only'

    @property
    def source_only_weights(self) -> Path:
        return self.source_only_dir / 'weights' / 'final.pth'

    def stage_one_dir(self, target: str) -> Path:
        return self.root / 'stage_one' / target

    def stage_one_weights(self, target: str) -> Path:
        return self.stage_one_dir(target) / 'weights' / 'final.pth'

    @property
    def source_only_eval_dir(self) -> Path:
        return self.root / 'eval' / 'source_only'

    def single_eval_dir(self, target: str) -> Path:
        return self.root / 'eval' / target

    def merge_dir(self, row: MergeRow) -> Path:
        return self.root / 'merged' / row.key

    def oracle_dir(self, target: str) -> Path:
        return self.root / 'oracle' / target

    def subset_dir(self, name: str) -> Path:
        return self.root / 'subsets' / name

    @property
    def methods_dir(self) -> Path:
        return self.root / 'methods'

    def method_dir(self, method: str) -> Path:
        return self.methods_dir / method

    def lmc_dir(self, kind: str) -> Path:
        return self.root / 'lmc' / kind

    @property
    def timing(self) -> Path:
        return self.root / 'timing.json'
