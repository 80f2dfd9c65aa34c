"""Mean teacher: the exponential moving average (EMA) of the student's parameters.

Convention (DAFormer, Hoyer et al. CVPR 2022, ``mmseg/models/uda/dacs.py``; after DACS):

* the teacher weight of iteration ``t`` is ``alpha_t = min(1 - 1/(t + 1), alpha)`` with
  ``alpha = 0.999``; ``alpha_0 = 0``, so the update of iteration 0 *is* the copy DAFormer does
  before its first step, and calling :func:`update_ema_` with :func:`ema_alpha` from ``t = 0`` on
  reproduces its schedule without a separate initialisation;
* only **parameters** are averaged. DAFormer zips ``parameters()`` of the two models by position;
  here they are matched by name and checked first, so a module registered in another order cannot
  silently average the wrong tensors.

Buffers (the teacher's BatchNorm running statistics and counters) are deliberately left alone,
as in DAFormer: the teacher is run in *train* mode with its stochastic layers switched off
(:func:`disable_stochastic_layers_`), so its BatchNorm layers normalise with the statistics of the
target batch it labels and keep their own running statistics of those batches. Nothing in
stage two depends on this: the checkpoint that is merged (and evaluated, as in DAFormer) is the
student's, whose running statistics are its own, gathered on source and mixed batches. A teacher
checkpoint would carry statistics that are not an average of anything, so it must not be merged
as if its buffers were EMA'd.

Torch only: no mmseg / mmengine import.
"""
import torch
from torch import nn


def ema_alpha(iteration: int, alpha: float = 0.999) -> float:
    """Teacher weight of ``iteration``: ``min(1 - 1/(iteration + 1), alpha)``.

    The warm-up term lets the teacher follow the student closely while the student changes fast
    (``0, 1/2, 2/3, ...``) until it reaches ``alpha``.

    Args:
        iteration: the 0-based training iteration ``t``.
        alpha: the final teacher weight (DAFormer: 0.999).
    """
    if iteration < 0:
        raise ValueError(f'iteration must be >= 0, got {iteration}')
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}')
    return min(1.0 - 1.0 / (iteration + 1), alpha)


@torch.no_grad()
def update_ema_(teacher: nn.Module, student: nn.Module, *, alpha: float) -> None:
    """In place: ``teacher_p <- alpha * teacher_p + (1 - alpha) * student_p`` for every parameter.

    Parameters are matched by name; buffers are not touched (see the module docstring).

    Args:
        teacher: the EMA model; updated in place.
        student: the trained model; read only.
        alpha: the teacher weight of this iteration, usually :func:`ema_alpha`.

    Raises:
        KeyError: the two models do not have the same parameter names.
        ValueError: a parameter has different shapes in the two models, or alpha is outside [0, 1].
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}')
    teacher_params = dict(teacher.named_parameters())
    student_params = dict(student.named_parameters())
    if teacher_params.keys() != student_params.keys():
        only_teacher = sorted(teacher_params.keys() - student_params.keys())[:5]
        only_student = sorted(student_params.keys() - teacher_params.keys())[:5]
        raise KeyError(f'teacher and student parameters differ: only in teacher {only_teacher}, '
                       f'only in student {only_student}')
    for name, student_param in student_params.items():
        teacher_param = teacher_params[name]
        if teacher_param.shape != student_param.shape:
            raise ValueError(f'{name}: teacher shape {tuple(teacher_param.shape)} != student shape '
                             f'{tuple(student_param.shape)}')
    targets = [teacher_params[name] for name in student_params]
    sources = [param.detach().to(target.dtype) for param, target in
               zip(student_params.values(), targets)]
    # lerp(end, w) = self + w * (end - self) = (1 - w) * self + w * end, for all parameters in
    # one multi-tensor call (grouped by device and dtype inside; the same arithmetic per element
    # as one lerp_ per tensor, in one kernel launch per group instead of one per parameter)
    torch._foreach_lerp_(targets, sources, 1.0 - alpha)


def disable_stochastic_layers_(model: nn.Module) -> int:
    """Switch dropout and drop-path layers of ``model`` to eval mode, leaving the rest as it is.

    DAFormer labels target images with the teacher in train mode (so BatchNorm uses the batch
    statistics) but without dropout or stochastic depth, which would make the pseudo labels noisy.
    Call it after every ``model.train()``, which switches them back on.

    Drop-path layers are recognised by class name (``DropPath``, as both timm and mmcv call it) to
    keep this module free of those packages.

    Args:
        model: the teacher.

    Returns:
        The number of layers switched off.
    """
    count = 0
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) or type(module).__name__ == 'DropPath':
            module.training = False
            count += 1
    return count
