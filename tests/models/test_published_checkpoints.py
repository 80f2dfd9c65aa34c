"""Published DAFormer/HRDA/MIC checkpoints (mmseg 0.x layout) converted into mtda's format: every key
placed once, strict load, and the logits of the network the release describes."""
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

from daformer_0x import DAFormer0x, HRDA0x, randomise_
from mtda.datasets.label_maps import CLASSES, PALETTE
from mtda.io import load_state_dict_file, weights_sha256
from support import CONFIGS, REPO, run_tool

CONFIG = CONFIGS / 'daformer' / 'gta2cityscapes_daformer_mit-b0_tiny.py'


def _release_network(seed):
    """The network of the tiny MiT-B0 DAFormer config, in the 0.x layout, random weights."""
    return randomise_(DAFormer0x(dims=[32, 64, 160, 256], heads=[1, 2, 5, 8], depths=[2] * 4,
                                 sr_ratios=[8, 4, 2, 1], embed_dims=64, channels=64,
                                 dilations=(1, 6, 12, 18)), seed).eval()


def _release_file(path, student, teacher, *, extra=None):
    """A file laid out as a DAFormer release: the UDA wrapper's three networks under their
    prefixes, mmcv 1.x meta and the optimiser state."""
    state = OrderedDict()
    for prefix, network in (('model.', student), ('ema_model.', teacher)):
        state.update((prefix + k, v) for k, v in network.state_dict().items())
    state.update(('imnet_model.' + k, v) for k, v in student.backbone.state_dict().items())
    state.update(extra or {})
    torch.save(dict(meta=dict(CLASSES=CLASSES, PALETTE=[list(c) for c in PALETTE], iter=40000,
                              mmcv_version='1.3.7', config='(the 0.x config text)'),
                    state_dict=state,
                    optimizer=dict(state={}, param_groups=[dict(lr=6e-5, params=[0, 1])])),
               path)
    return path


def _segmentor():
    from mtda.models.segmentor import build_segmentor
    return build_segmentor(Config.fromfile(str(CONFIG))).eval()


def _logits(segmentor, image):
    with torch.no_grad():
        return segmentor._forward(image)


def test_student_and_teacher_convert_to_the_releases_logits(tmp_path):
    student, teacher = _release_network(1), _release_network(2)
    release = _release_file(tmp_path / 'gta2cs_daformer.pth', student, teacher)
    init = tmp_path / 'mit_b0.pth'
    torch.save(dict(state_dict={'w': torch.ones(2)}), init)
    image = torch.randn(2, 3, 64, 64)
    for network, reference in (('student', student), ('teacher', teacher)):
        out = tmp_path / f'{network}.pth'
        proc = run_tool('convert_checkpoint.py', CONFIG, release, out, '--network', network,
                        '--init', init, cwd=REPO)
        assert f'wrote {out}' in proc.stdout
        converted = torch.load(out, weights_only=True)
        segmentor = _segmentor()
        segmentor.load_state_dict(converted['state_dict'], strict=True)
        with torch.no_grad():
            expected = reference(image)
        # SegFormer's patch-embedding and reduction LayerNorms use eps 1e-5, mmseg 1.x's 1e-6:
        # measured 1.8e-6 on logits of about 1.6 (1.3e-6 with equal eps: float rounding)
        torch.testing.assert_close(_logits(segmentor, image), expected, rtol=1e-5, atol=1e-5)
        meta = converted['meta']
        assert meta['network'] == network and meta['iter'] == 40000
        assert meta['init_sha256'] == weights_sha256(load_state_dict_file(init))
        assert meta['dataset_meta']['classes'] == list(CLASSES)
        assert meta['inputs'][0]['path'] == str(release)
    # the two networks differ, so taking the other one would have shown
    assert not torch.allclose(_release_network(1)(image), _release_network(2)(image))


def test_every_key_of_the_student_is_placed_once():
    from mtda.models.published_checkpoints import published_segmentor_state
    student = _release_network(3)
    state = {'model.' + k: v for k, v in student.state_dict().items()}
    converted = published_segmentor_state(state, 'release.pth')
    segmentor = _segmentor()
    assert set(converted) == set(segmentor.state_dict())
    # q and kv of one attention become one in_proj tensor: the tensor count drops by one per
    # block, every other tensor maps one to one
    blocks = 8
    assert len(converted) == len(student.state_dict()) - 2 * blocks
    q = student.state_dict()['backbone.block1.0.attn.q.weight']
    kv = student.state_dict()['backbone.block1.0.attn.kv.weight']
    assert torch.equal(converted['backbone.layers.0.1.0.attn.attn.in_proj_weight'],
                       torch.cat([q, kv]))
    assert torch.equal(converted['decode_head.fuse_layer.bottleneck.bn.running_var'],
                       student.state_dict()['decode_head.fuse_layer.bottleneck.bn.running_var'])


def test_a_key_that_fits_nowhere_is_named_and_nothing_is_written(tmp_path):
    student = _release_network(4)
    release = _release_file(tmp_path / 'odd.pth', student, student,
                            extra={'model.decode_head.extra_conv.weight': torch.ones(3)})
    out = tmp_path / 'out.pth'
    proc = run_tool('convert_checkpoint.py', CONFIG, release, out, cwd=REPO, check=False)
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert str(release) in message and 'decode_head.extra_conv.weight' in message
    assert not out.exists() and not list(tmp_path.glob('*.tmp*'))


def test_missing_teachers_are_refused_in_one_line():
    from mtda.errors import CheckpointError
    from mtda.models.published_checkpoints import published_segmentor_state
    plain = {'backbone.stem.0.weight': torch.ones(1)}
    with pytest.raises(CheckpointError, match='has no EMA teacher'):
        published_segmentor_state(plain, 'plain.pth', network='teacher')
    # a plain (non-UDA) 0.x segmentor file converts as it is
    assert published_segmentor_state(plain, 'plain.pth') == plain


def test_an_hrda_mitb5_release_fills_the_hrda_config_with_its_fused_logits(tmp_path):
    """HRDA's (and MIC's) released architecture, MiT-B5 with the two-head HRDA head, in the 0.x
    layout: converted by the tool into configs/hrda/gta2cityscapes_hrda_mitb5.py, whose fused
    whole-image logits are those of the release's network."""
    from mtda.models.segmentor import build_segmentor
    from mtda.models.hrda import HRDAEncoderDecoder
    release_net = randomise_(HRDA0x(dims=[64, 128, 320, 512], heads=[1, 2, 5, 8],
                                    depths=[3, 6, 40, 3], sr_ratios=[8, 4, 2, 1], embed_dims=256,
                                    channels=256, dilations=(1, 6, 12, 18),
                                    attention_embed_dims=256), 7).eval()
    release = _release_file(tmp_path / 'hrda_release.pth', release_net, release_net)
    config = CONFIGS / 'hrda' / 'gta2cityscapes_hrda_mitb5.py'
    out = tmp_path / 'converted.pth'
    run_tool('convert_checkpoint.py', config, release, out, cwd=REPO)
    cfg = Config.fromfile(str(config))
    cfg.model.segmentor.backbone.init_cfg = None
    segmentor = build_segmentor(cfg).eval()
    assert isinstance(segmentor, HRDAEncoderDecoder)
    segmentor.load_state_dict(torch.load(out, weights_only=True)['state_dict'])
    image = torch.randn(1, 3, 64, 64)  # one detail window: the whole image, as HRDA0x runs it
    with torch.no_grad():
        torch.testing.assert_close(segmentor._forward(image), release_net(image), rtol=1e-4,
                                   atol=1e-4)


def test_a_mitb5_release_fills_the_real_size_config():
    """DAFormer's released architecture (MiT-B5 widths and depths, 256-channel head) in the 0.x
    layout fills configs/daformer/gta2cityscapes_daformer_mitb5.py exactly, with its logits."""
    from mtda.models.published_checkpoints import published_segmentor_state
    from mtda.models.segmentor import build_segmentor, load_state_strict
    release = randomise_(DAFormer0x(dims=[64, 128, 320, 512], heads=[1, 2, 5, 8],
                                    depths=[3, 6, 40, 3], sr_ratios=[8, 4, 2, 1], embed_dims=256,
                                    channels=256, dilations=(1, 6, 12, 18)), 5).eval()
    cfg = Config.fromfile(str(CONFIGS / 'daformer' / 'gta2cityscapes_daformer_mitb5.py'))
    cfg.model.segmentor.backbone.init_cfg = None  # no ImageNet file here; weights come next
    segmentor = build_segmentor(cfg).eval()
    state = {'model.' + k: v for k, v in release.state_dict().items()}
    load_state_strict(segmentor, published_segmentor_state(state, 'release.pth'), 'release.pth')
    image = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(segmentor._forward(image), release(image), rtol=1e-4,
                                   atol=1e-4)
