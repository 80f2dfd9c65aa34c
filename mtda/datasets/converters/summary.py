"""What one converter run did, as data (for callers) and as the one line the tools print."""
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ConversionSummary:
    """Result of ``convert(data_root)`` for one dataset.

    Args:
        dataset: short name, e.g. ``'gta'``.
        data_root: the data root as given.
        action: ``'converted'`` (trainId PNGs written) or ``'validated'`` (shipped labels checked).
        label_files: number of label files per group (split, or condition/split), in order.
        written: the files written besides the label PNGs (RCS JSON, split lists).
    """
    dataset: str
    data_root: Path
    action: str
    label_files: dict[str, int]
    written: tuple[Path, ...] = field(default=())

    @property
    def num_label_files(self) -> int:
        return sum(self.label_files.values())

    def __str__(self) -> str:
        groups = ', '.join(f'{group} {n}' for group, n in self.label_files.items())
        line = (f'{self.dataset}: {self.action} {self.num_label_files} label files ({groups}) '
                f'in {self.data_root}')
        folders = {Path(p).parent for p in self.written}
        if len(folders) == 1:  # the usual case: all side files in the out dir, named once
            line += f"; wrote {', '.join(Path(p).name for p in self.written)} in {folders.pop()}"
        elif folders:
            line += '; wrote ' + ', '.join(str(p) for p in self.written)
        return line
