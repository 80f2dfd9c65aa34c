"""A three-conv network with its two hidden feature groups written out by hand, for the Re-Basin and
ZipIt! tests: expected values come from the hand-written groups, not from the spec builders."""
import torch
from torch import nn

from mtda.merging.rebasin import PermutationSpec, SpecBuilder


def small_convnet(seed: int) -> nn.Sequential:
    """conv 3->6, BN, ReLU, conv 6->5, BN, ReLU, 1x1 conv 5->2: two hidden groups, in eval mode."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                        nn.Conv2d(6, 5, 3, padding=1), nn.BatchNorm2d(5), nn.ReLU(),
                        nn.Conv2d(5, 2, 1))
    net.train()
    with torch.no_grad():  # non-trivial running statistics
        net(torch.randn(4, 3, 8, 8) * 2 + 1)
    return net.eval()


def small_convnet_spec(net: nn.Module) -> PermutationSpec:
    """Groups ``h1`` (the first conv's outputs) and ``h2`` (the second's)."""
    b = SpecBuilder({k: v.shape for k, v in net.state_dict().items()})
    b.conv('0', 'h1', None)
    b.norm('1', 'h1')
    b.conv('3', 'h2', 'h1')
    b.norm('4', 'h2')
    b.conv('6', None, 'h2')
    return b.build()
