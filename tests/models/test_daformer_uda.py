"""The UDA segmentor end to end on the tiny synthetic data: losses, EMA teacher, lineage, export."""
import copy
from concurrent.futures import ThreadPoolExecutor

import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

from support import CONFIGS, REPO, run_tool

UDA_TINY = CONFIGS / 'daformer' / 'gta2cityscapes_daformer_mit-b0_tiny.py'
SOURCE_ONLY_TINY = CONFIGS / 'source_only' / 'gta_daformer_mit-b0_tiny.py'


def _shared_init(root):
    """A shared init written by tools/make_shared_init.py (random init; no pretraining here)."""
    out = root / 'work_dirs' / 'shared_init' / 'daformer_mit-b0_tiny.pth'
    if not out.exists():
        proc = run_tool('make_shared_init.py', UDA_TINY, '--out', out, '--seed', '3', cwd=root)
        assert 'sha256' in proc.stdout
    return out


def _build(root, monkeypatch):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS, MODELS
    import mtda  # noqa: F401
    monkeypatch.chdir(root)
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(UDA_TINY))
    cfg.model.init_checkpoint = str(_shared_init(root))
    model = MODELS.build(cfg.model)
    model.init_weights()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    from mmengine.dataset import pseudo_collate
    batch = pseudo_collate([dataset[i] for i in range(2)])
    return cfg, model, batch


def test_one_uda_step_losses_and_ema_teacher(tiny_data_root, monkeypatch):
    cfg, model, batch = _build(tiny_data_root, monkeypatch)
    init = torch.load(_shared_init(tiny_data_root), weights_only=True)['state_dict']
    for key, value in model.student.state_dict().items():
        assert torch.equal(value, init[key]), key  # the shared init was loaded
    MessageHub.get_current_instance().update_info('iter', 5)
    model.train()
    before_teacher = copy.deepcopy(dict(model.teacher.named_parameters()))
    before_student = copy.deepcopy(dict(model.student.named_parameters()))
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert {'src.loss_ce', 'src.loss_imnet_fd', 'mix.loss_ce'} <= set(losses)
    for name, value in losses.items():
        assert torch.isfinite(value).all(), name
    alpha = min(1 - 1 / 6, 0.999)  # alpha_t at iteration 5
    for name, param in model.teacher.named_parameters():
        expected = alpha * before_teacher[name] + (1 - alpha) * before_student[name]
        torch.testing.assert_close(param.data, expected.data, msg=name)
        assert not param.requires_grad
    # gradients reach the student only
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.student.decode_head.conv_seg.weight.grad is not None
    assert all(p.grad is None for p in model.teacher.parameters())
    assert all(p.grad is None for p in model.imnet_backbone.parameters())
    assert not model.imnet_backbone.training and model.teacher.training


def test_uda_training_exports_the_student_with_lineage(tiny_data_root):
    init = _shared_init(tiny_data_root)
    run_tool('train.py', UDA_TINY, '--work-dir', 'work_dirs/uda3', '--cfg-options',
             'train_cfg.max_iters=3', 'train_cfg.val_interval=3', f'model.init_checkpoint={init}',
             cwd=tiny_data_root)
    export = torch.load(tiny_data_root / 'work_dirs/uda3/weights/final.pth', weights_only=True)
    from mtda.io import load_state_dict_file, weights_sha256
    assert export['meta']['init_sha256'] == weights_sha256(load_state_dict_file(init))
    assert export['meta']['target_domain'] == 'cityscapes'
    assert 'decode_head.conv_seg.weight' in export['state_dict']
    assert not any(k.startswith(('teacher.', 'model.')) for k in export['state_dict'])
    # the export is a plain segmentor, its row named after the run (the file is only 'final'),
    # and the run's own full checkpoint, its EMA teacher picked by --model (in parallel)
    runs = [(UDA_TINY, tiny_data_root / 'work_dirs/uda3/weights/final.pth', '--work-dir',
             'work_dirs/uda3/eval'),
            (SOURCE_ONLY_TINY, tiny_data_root / 'work_dirs/uda3/iter_3.pth', '--model', 'teacher',
             '--work-dir', 'work_dirs/uda3/eval_teacher')]
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(lambda args: run_tool('test.py', *args, cwd=tiny_data_root,
                                                    env={'OMP_NUM_THREADS': '1'}), runs))
    assert '| gta→cityscapes (final) |' in procs[0].stdout
    assert '| iter_3 |' in procs[1].stdout and 'H-mean' in procs[1].stdout


def test_make_shared_init_from_official_segformer_keys(tmp_path):
    """An official-format MiT checkpoint (keys patch_embed1.*, block1.0.attn.q.*) is converted
    to mmseg's names and lands in the init's backbone unchanged."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(UDA_TINY))
    backbone = MODELS.build(cfg.model.segmentor.backbone)
    official = _to_official_mit(backbone.state_dict())
    assert any(k.startswith('block1.0.attn.q.') for k in official)
    path = tmp_path / 'mit_b0.pth'
    torch.save(official, path)
    out = tmp_path / 'init.pth'
    run_tool('make_shared_init.py', UDA_TINY, '--out', out, '--backbone-weights', path,
             cwd=REPO)
    init = torch.load(out, weights_only=True)
    for key, value in backbone.state_dict().items():
        assert torch.equal(init['state_dict'][f'backbone.{key}'], value), key
    assert init['meta']['inputs'][0]['path'] == str(path)


def _to_official_mit(state):
    """mmseg MixVisionTransformer keys -> the official SegFormer release's (independent of the
    converter under test: written from the SegFormer key layout)."""
    out = {}
    for key, value in state.items():
        parts = key.split('.')
        stage, part = int(parts[1]) + 1, parts[2]
        rest = '.'.join(parts[3:])
        if part == '0':
            out[f'patch_embed{stage}.' + rest.replace('projection.', 'proj.')] = value
        elif part == '2':
            out[f'norm{stage}.{rest}'] = value
        else:
            block, sub = parts[3], '.'.join(parts[4:])
            prefix = f'block{stage}.{block}.'
            if sub.startswith('attn.attn.in_proj_'):
                kind = sub.rsplit('_', 1)[1]
                dim = value.shape[0] // 2
                out[prefix + f'attn.q.{kind}'] = value[:dim]
                out[prefix + f'attn.kv.{kind}'] = value[dim:]
            elif sub.startswith('attn.attn.out_proj.'):
                out[prefix + 'attn.proj.' + sub.split('.')[-1]] = value
            elif sub.startswith('attn.'):
                out[prefix + sub] = value
            elif sub.startswith('ffn.layers.'):
                layer, leaf = sub.split('.')[2], sub.split('.')[-1]
                name = {'0': 'fc1', '1': 'dwconv.dwconv', '4': 'fc2'}[layer]
                out[prefix + f'mlp.{name}.{leaf}'] = (value.flatten(1) if name != 'dwconv.dwconv'
                                                      and leaf == 'weight' else value)
            else:
                out[prefix + sub] = value
    return out


def test_feature_distance_is_taken_on_the_configured_stage(tiny_data_root, monkeypatch):
    from mtda.models.uda import daformer_uda
    cfg, model, batch = _build(tiny_data_root, monkeypatch)
    seen = []

    def recording_loss(feat, imnet_feat, label, **kwargs):
        seen.append((feat.shape, imnet_feat.shape))
        return feat.sum() * 0

    monkeypatch.setattr(daformer_uda, 'feature_distance_loss', recording_loss)
    model.train()
    data = model.data_preprocessor(batch, True)
    for stage in (-1, 0):
        model.feature_distance_stage = stage
        model(**data, mode='loss')
    # 64x64 crops: the last MiT stage is 2x2 (stride 32), the first 16x16 (stride 4)
    assert [s[0][-2:] for s in seen] == [(2, 2), (16, 16)]
    assert all(student == imnet for student, imnet in seen)


def test_init_model_with_a_stage_one_config_loads_a_segmentor_file_into_the_student(tmp_path):
    """mmseg's own inference entry point on a stage-one config and a plain (exported or merged)
    segmentor checkpoint: every weight lands in the student (teacher and frozen copy alike), and
    inference runs."""
    import numpy as np
    from mmseg.apis import inference_model, init_model

    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mtda  # noqa: F401
    from mtda.io import atomic_save
    from mtda.models.segmentor import segmentor_config
    init_default_scope('mmseg')
    torch.manual_seed(5)
    cfg = Config.fromfile(str(UDA_TINY))
    segmentor = MODELS.build(segmentor_config(cfg))
    state = {k: v + 0.01 for k, v in segmentor.state_dict().items()} | {
        k: v for k, v in segmentor.state_dict().items() if not v.is_floating_point()}
    path = atomic_save(dict(state_dict=state, meta=dict(dataset_meta=dict(
        classes=['c'] * 19, palette=[[0, 0, 0]] * 19))), tmp_path / 'merged.pth')
    model = init_model(str(UDA_TINY), str(path), device='cpu')
    for key, value in state.items():
        assert torch.equal(model.student.state_dict()[key], value), key
        assert torch.equal(model.teacher.state_dict()[key], value), key
    backbone = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    assert all(torch.equal(model.imnet_backbone.state_dict()[k], v) for k, v in backbone.items())
    result = inference_model(model, np.zeros((48, 64, 3), dtype=np.uint8))
    assert result.pred_sem_seg.data.shape == (1, 48, 64)
    # the wrapper's own (full) state dict still loads as it is
    full = model.state_dict()
    model.load_state_dict(full)
    assert torch.equal(model.student.state_dict()['decode_head.conv_seg.bias'],
                       full['model.decode_head.conv_seg.bias'])


def _reference_uda_step(model, source, target, optimizer):
    """DAFormer's iteration written out plainly (per-parameter EMA under no_grad, every frozen
    forward under no_grad, the normalisation read from the preprocessor each time), from the same
    pure functions and in the same order of random draws as ``DAFormerUDA.uda_loss``."""
    import torch.nn.functional as F
    from mmseg.models.utils import resize

    from mtda.models.uda.classmix import class_mix_masks, mix
    from mtda.models.uda.ema import ema_alpha
    from mtda.models.uda.feature_distance import feature_distance_loss
    from mtda.models.uda.pseudo_label import crop_margin_mask, pseudo_labels_and_weight
    from mtda.models.uda.strong_aug import strong_augment
    student, teacher = model.model, model.teacher
    alpha = ema_alpha(int(MessageHub.get_current_instance().get_info('iter')), model.ema_alpha)
    with torch.no_grad():
        for (_, t), (_, s) in zip(teacher.named_parameters(), student.named_parameters()):
            t.mul_(alpha).add_(s, alpha=1 - alpha)
    src_img, src_samples = source['inputs'], source['data_samples']
    tgt_img, tgt_samples = target['inputs'], target['data_samples']
    src_label = torch.stack([s.gt_sem_seg.data for s in src_samples])
    feats = student.extract_feat(src_img)
    losses = student.decode_head.loss(feats, src_samples, student.train_cfg)
    with torch.no_grad():
        frozen = model.imnet_backbone(src_img)
    stage = model.feature_distance_stage
    fd = feature_distance_loss(feats[stage], frozen[stage], src_label,
                               thing_classes=model.feature_distance_classes,
                               scale_min_ratio=model.feature_distance_scale_min_ratio,
                               lambda_=model.feature_distance_weight)
    with torch.no_grad():
        logits = teacher.encode_decode(tgt_img, [s.metainfo for s in tgt_samples])
    pseudo, weight = pseudo_labels_and_weight(logits, threshold=model.pseudo_threshold)
    trusted = ~crop_margin_mask(pseudo.shape, margins=model.pseudo_margins, device=pseudo.device)
    pixel_weight = (weight.view(-1, 1, 1) * trusted).expand(pseudo.shape)
    masks = class_mix_masks(src_label, per_sample=model.mix_per_sample)
    mixed = strong_augment(mix(masks, src_img, tgt_img),
                           mean=model.data_preprocessor.mean.flatten().tolist(),
                           std=model.data_preprocessor.std.flatten().tolist(),
                           color_jitter_strength=model.color_jitter_strength,
                           color_jitter_probability=model.color_jitter_probability,
                           blur=model.blur)
    mixed_label = mix(masks, src_label[:, 0], pseudo)
    mixed_weight = mix(masks, torch.ones_like(pixel_weight), pixel_weight)
    mix_logits = resize(student.decode_head(student.extract_feat(mixed)),
                        size=mixed_label.shape[-2:], mode='bilinear',
                        align_corners=model.align_corners)
    ce = F.cross_entropy(mix_logits, mixed_label.long(), reduction='none',
                         ignore_index=student.decode_head.ignore_index)
    total = sum(v for k, v in losses.items() if 'loss' in k) + fd + (ce * mixed_weight).mean()
    optimizer.zero_grad()
    total.backward()
    optimizer.step()
    return total.detach()


def test_the_uda_iteration_equals_a_plain_reference_implementation(tiny_data_root, monkeypatch):
    """Three iterations of the model's step (the optimised one the trainer runs) and of the
    reference above, from the same weights, batches and seeds: the same losses and weights."""
    _, model, batch = _build(tiny_data_root, monkeypatch)
    reference = copy.deepcopy(model)
    model.train()
    reference.train()
    data = model.data_preprocessor(batch, True)
    optimizers = [torch.optim.AdamW(m.model.parameters(), lr=1e-3) for m in (model, reference)]
    for iteration in (5, 6, 7):
        MessageHub.get_current_instance().update_info('iter', iteration)
        torch.manual_seed(iteration)
        losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optimizers[0].zero_grad()
        loss.backward()
        optimizers[0].step()
        torch.manual_seed(iteration)
        expected = _reference_uda_step(reference, data['source'], data['target'], optimizers[1])
        torch.testing.assert_close(loss.detach(), expected, rtol=1e-5, atol=1e-5)
    for (name, value), (_, ref) in zip(model.state_dict().items(), reference.state_dict().items()):
        torch.testing.assert_close(value, ref, rtol=1e-5, atol=1e-5, msg=name)


def test_sequential_backward_steps_to_the_weights_of_one_joint_backward(tiny_data_root,
                                                                        monkeypatch):
    """DAFormer's order (source losses back-propagated before the mixed batch's forward) against
    one backward of all losses, through mmengine's train_step and OptimWrapper, three iterations
    from the same seeds: the same logged losses and the same weights, bit for bit (each gradient
    is the same two terms summed, and float addition of two terms commutes)."""
    from mmengine.optim import OptimWrapper
    _, model, batch = _build(tiny_data_root, monkeypatch)
    joint = copy.deepcopy(model)
    joint.sequential_backward = False
    model.train()
    joint.train()
    wrappers = [OptimWrapper(torch.optim.AdamW(m.model.parameters(), lr=1e-3))
                for m in (model, joint)]
    for iteration in (5, 6, 7):
        MessageHub.get_current_instance().update_info('iter', iteration)
        torch.manual_seed(iteration)
        logged = model.train_step(batch, wrappers[0])
        torch.manual_seed(iteration)
        expected = joint.train_step(batch, wrappers[1])
        assert logged.keys() == expected.keys()
        for key in expected:
            torch.testing.assert_close(logged[key], expected[key].detach(), msg=key)
        assert not any(v.requires_grad for v in logged.values())
    for (name, value), (_, other) in zip(model.state_dict().items(), joint.state_dict().items()):
        assert torch.equal(value, other), name


def test_mic_loss_is_the_students_weighted_loss_on_the_masked_target(tiny_data_root,
                                                                      monkeypatch):
    """MIC with nothing masked and no jitter: its loss is ``mask_weight`` times the student's
    cross-entropy on the target image against the teacher's pseudo labels, weighted like the
    mixed loss (confidence share, crop margins), computed here independently."""
    import torch.nn.functional as F
    from mmseg.models.utils import resize

    from mtda.models.uda.ema import disable_stochastic_layers_
    from mtda.models.uda.pseudo_label import crop_margin_mask, pseudo_labels_and_weight
    _, model, batch = _build(tiny_data_root, monkeypatch)
    model.mask_weight, model.mask_ratio, model.mask_augment = 2.0, 0.0, False
    model.pseudo_threshold = 0.0  # every pixel counts as confident: weights of 1 off the margins
    model.train()
    disable_stochastic_layers_(model.model)  # the student's dropout would draw differently here
    MessageHub.get_current_instance().update_info('iter', 5)
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert {'src.loss_ce', 'mix.loss_ce', 'masked.loss_ce'} <= set(losses)
    target, metas = data['target']['inputs'], [s.metainfo for s in data['target']['data_samples']]
    with torch.no_grad():
        pseudo, share = pseudo_labels_and_weight(model.teacher.encode_decode(target, metas),
                                                 threshold=model.pseudo_threshold)
        weight = share * ~crop_margin_mask(pseudo.shape, margins=model.pseudo_margins)
        logits = resize(model.model.decode_head(model.model.extract_feat(target)),
                        size=pseudo.shape[-2:], mode='bilinear', align_corners=False)
        ce = F.cross_entropy(logits, pseudo, reduction='none', ignore_index=255)
    assert share == 1.0 and losses['masked.loss_ce'] > 0
    torch.testing.assert_close(losses['masked.loss_ce'].detach(), 2.0 * (ce * weight).mean())
    losses['masked.loss_ce'].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.model.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())


def test_mic_masks_the_student_input_and_its_passes_add_up(tiny_data_root, monkeypatch):
    """With MIC on (MIC's 0.7 ratio, jitter), train_step back-propagates source, mixed and masked
    losses one after the other: the same logged losses and (to float rounding: three terms)
    the same weights as one backward of all of them, from the same seeds."""
    from mmengine.optim import OptimWrapper
    _, model, batch = _build(tiny_data_root, monkeypatch)
    model.mask_weight, model.mask_block_size = 1.0, 8
    model.pseudo_threshold = 0.0  # pseudo-label weights of 1: the target losses count at once
    joint = copy.deepcopy(model)
    joint.sequential_backward = False
    model.train()
    joint.train()
    # SGD: Adam's normalisation would blow the rounding of a near-zero gradient up to a step;
    # a small rate keeps the rounding of large gradients (the order of three summands) small
    start = copy.deepcopy(model.model.state_dict())
    wrappers = [OptimWrapper(torch.optim.SGD(m.model.parameters(), lr=1e-3))
                for m in (model, joint)]
    for iteration in (5, 6):
        MessageHub.get_current_instance().update_info('iter', iteration)
        torch.manual_seed(iteration)
        logged = model.train_step(batch, wrappers[0])
        torch.manual_seed(iteration)
        expected = joint.train_step(batch, wrappers[1])
        assert logged['masked.loss_ce'] > 0 and logged.keys() == expected.keys()
        for key in expected:
            torch.testing.assert_close(logged[key], expected[key].detach(), msg=key)
    assert any(not torch.equal(v, start[k]) for k, v in model.model.state_dict().items())
    for (name, value), (_, other) in zip(model.state_dict().items(), joint.state_dict().items()):
        torch.testing.assert_close(value, other, rtol=1e-4, atol=1e-5, msg=name)
