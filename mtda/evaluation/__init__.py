"""Per-domain evaluation: the metric, the multi-domain loop, scores and results files.

Running a checkpoint through the loop is a runner-level step: :func:`mtda.apis.evaluate_checkpoint`.
"""
from .domain_iou_metric import DomainIoUMetric
from .multi_domain_loop import MultiDomainTestLoop, MultiDomainValLoop, require_multi_domain_test_cfg
from .results import model_results, read_results, render_markdown, write_results
from .scores import harmonic_mean, scores_from_areas, scores_from_confusion
from .show_dir_hook import DomainShowDirHook

__all__ = ['DomainIoUMetric', 'DomainShowDirHook', 'MultiDomainTestLoop', 'MultiDomainValLoop', 'harmonic_mean',
           'model_results', 'read_results', 'render_markdown', 'require_multi_domain_test_cfg',
           'scores_from_areas', 'scores_from_confusion', 'write_results']
