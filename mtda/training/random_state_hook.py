"""``RandomStateHook``: a resumed run continues with the random numbers the killed run would
have drawn, so it ends with the same weights.

What draws random numbers during training, and how each is brought back on ``--resume``:

* the data pipeline (crops, flips; numpy in the loader) and the sampler's order: mmengine's
  iteration-based loop replays the already-trained batches from the same seed before training
  continues, which leaves them where the killed run was;
* the model (dropout, drop path, and later the UDA mixing; torch's generators): nothing replays
  them, so this hook stores torch's CPU and CUDA generator states in every checkpoint (as uint8
  tensors, plain data) and puts them back right before the first resumed iteration — after
  mmengine's replay, which does not touch torch's generators.
"""
import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save torch's generator states with each checkpoint; restore them on resume."""
    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(torch_cpu=torch.get_rng_state())
        if torch.cuda.is_available():
            state['torch_cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['random_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('random_state')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._pending is None:
            return
        torch.set_rng_state(self._pending['torch_cpu'])
        if torch.cuda.is_available() and 'torch_cuda' in self._pending:
            torch.cuda.set_rng_state_all(self._pending['torch_cuda'])
        self._pending = None
