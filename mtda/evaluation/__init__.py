"""Per-domain evaluation: the metric, the multi-domain loop, scores and results files."""
from .domain_iou_metric import DomainIoUMetric
from .evaluate import evaluate_checkpoint
from .multi_domain_loop import MultiDomainTestLoop, MultiDomainValLoop
from .results import model_results, read_results, render_markdown, write_results
from .scores import harmonic_mean, scores_from_areas, scores_from_confusion

__all__ = ['DomainIoUMetric', 'evaluate_checkpoint', 'MultiDomainTestLoop', 'MultiDomainValLoop', 'harmonic_mean',
           'model_results', 'read_results', 'render_markdown', 'scores_from_areas',
           'scores_from_confusion', 'write_results']
