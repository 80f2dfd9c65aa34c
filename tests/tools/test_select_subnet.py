"""tools/select_subnet.py and its pieces: the budget, BatchNorm calibration, UPEM's choice."""
import pytest
import torch

from support import CONFIGS, run_tool

SLIMDA = CONFIGS / 'slimda' / 'gta2cityscapes_slimda_efficientnet-lite0_tiny.py'


def test_the_lowest_score_within_the_budget_wins_and_nothing_fitting_is_an_error():
    from mtda.apis.select_subnet import lowest_within_budget
    from mtda.errors import MtdaError
    flops, scores = [10, 30, 60, 100], [0.5, 0.2, 0.1, 0.0]
    assert lowest_within_budget(flops, scores, 100) == 3  # everything fits: the anchor (UPEM 0)
    assert lowest_within_budget(flops, scores, 59) == 1
    assert lowest_within_budget(flops, [0.2, 0.2, 0.3, 0.0], 40) == 1  # a tie: the costlier
    with pytest.raises(MtdaError, match='no sub-network fits a budget of 5e-09 GFLOPs; the '
                                        'cheapest needs 1e-08 GFLOPs'):
        lowest_within_budget(flops, scores, 5)


def _bank(**options):
    import copy

    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    import mtda  # noqa: F401
    register_all_modules(init_default_scope=False)
    seg = copy.deepcopy(Config.fromfile(str(SLIMDA)).model.segmentor)
    seg.pop('data_preprocessor', None)
    seg.update(options)
    torch.manual_seed(0)
    bank = MODELS.build(seg)
    bank.init_weights()
    return bank.eval()


def test_calibration_averages_the_images_into_the_current_width_only():
    from mtda.apis.select_subnet import calibrate_batchnorm_
    bank = _bank()
    stem_bn = bank.backbone.timm_model.bn1
    seen = []
    stem_bn.bn[1].register_forward_hook(lambda m, args, out: seen.append(args[0].detach()))
    others = {i: stem_bn.bn[i].running_mean.clone() for i in (0, 2, 3)}
    generator = torch.Generator().manual_seed(0)
    batches = [torch.randn(2, 3, 32, 32, generator=generator) for _ in range(3)]
    bank.set_width(1)
    calibrate_batchnorm_(bank, batches)
    inputs = torch.cat(seen)  # what the width's stem norm saw over all images
    torch.testing.assert_close(stem_bn.bn[1].running_mean, inputs.mean(dim=(0, 2, 3)),
                               rtol=1e-4, atol=1e-5)
    for i, before in others.items():
        assert torch.equal(stem_bn.bn[i].running_mean, before)
    assert stem_bn.bn[1].momentum == 0.1 and not bank.training


def test_flops_grow_with_the_width_and_upem_of_the_anchor_is_zero():
    from mtda.apis.select_subnet import score_subnets
    bank = _bank(width_stages=None)
    batches = [torch.randn(2, 3, 64, 64)]
    choice = score_subnets(bank, batches, budget_flops=1e12, input_size=(64, 64))
    assert choice.candidates == [(0,), (1,), (2,), (3,)]
    assert choice.flops == sorted(choice.flops) and len(set(choice.flops)) == 4
    assert choice.flops[0] < choice.flops[-1] / 8  # about width squared
    assert choice.upem[-1] == 0.0 and min(choice.upem[:-1]) >= 0
    assert choice.chosen == 3 and bank.width == 1.0  # any budget above the widest: the anchor


def test_upem_scores_run_the_anchor_once_and_show_each_calibrated_candidate(monkeypatch):
    from mtda.apis import select_subnet
    bank = _bank(width_stages=None)
    stem = bank.backbone.timm_model.bn1
    before = [b.running_mean.clone() for b in stem.bn]
    runs, seen = [], []
    original = select_subnet.subnet_logits
    monkeypatch.setattr(select_subnet, 'subnet_logits',
                        lambda bank, subnet, *a, **k: runs.append(subnet) or original(
                            bank, subnet, *a, **k))

    def on_candidate(index, score):  # the candidate runs, its own statistics calibrated
        width = bank.width_index
        seen.append((index, width, score, torch.equal(stem.bn[width].running_mean,
                                                      before[width])))

    candidates = [(0,), (1,), (2,), (3,)]
    scores = select_subnet.upem_scores(bank, candidates, [torch.randn(2, 3, 32, 32)], anchor=3,
                                       on_candidate=on_candidate)
    assert runs == [(3,), (0,), (1,), (2,)]  # the anchor's logits are computed once
    assert [s[:3] for s in seen] == [(3, 3, 0.0)] + [(i, i, scores[i]) for i in range(3)]
    assert not any(s[3] for s in seen) and min(scores[:3]) > 0
    assert all(torch.equal(b.running_mean, m) for b, m in zip(stem.bn, before))  # restored


def test_per_stage_candidates_are_seeded_distinct_and_within_the_budget():
    from mtda.apis.select_subnet import candidate_subnets, score_subnets, width_flops
    from mtda.errors import MtdaError
    bank = _bank()
    drawn = candidate_subnets(bank, per_stage=12, seed=3)
    assert drawn[:4] == [(i,) * 5 for i in range(4)]  # the uniform widths first
    mixed = drawn[4:]
    assert len(set(mixed)) == 12 and all(len(set(s)) > 1 and len(s) == 5 for s in mixed)
    assert candidate_subnets(bank, per_stage=12, seed=3) == drawn
    assert candidate_subnets(bank, per_stage=12, seed=4) != drawn
    with pytest.raises(MtdaError, match='per-stage candidates need the bank\'s width_stages'):
        candidate_subnets(_bank(width_stages=None), per_stage=1)

    budget = width_flops(bank, (64, 64))[2]  # what width 0.75 costs
    stem = bank.backbone.timm_model.bn1
    before = [b.running_mean.clone() for b in stem.bn]
    batches = [torch.randn(2, 3, 64, 64)]
    choice = score_subnets(bank, batches, budget_flops=budget, input_size=(64, 64),
                           per_stage=3, seed=0)
    assert len(choice.candidates) == 7 and choice.upem[3] == 0.0
    assert all(f <= budget for f in choice.flops[4:]) and min(choice.upem) >= 0
    assert choice.flops[choice.chosen] <= budget and choice.upem[choice.chosen] == min(
        u for u, f in zip(choice.upem, choice.flops) if f <= budget)
    stem_index = choice.candidates[choice.chosen][0]
    assert bank.stage_widths == choice.width
    for index, mean in enumerate(before):  # only the chosen sub-network's norms calibrated
        assert torch.equal(stem.bn[index].running_mean, mean) == (index != stem_index)


def test_the_tool_writes_the_calibrated_choice_that_test_time_reads(tiny_data_root, tmp_path):
    bank_file = tmp_path / 'bank.pth'
    run_tool('make_shared_init.py', SLIMDA, '--out', bank_file, '--seed', '1', cwd=tiny_data_root)
    images = tiny_data_root / 'data' / 'cityscapes' / 'leftImg8bit' / 'val'
    out = tmp_path / 'chosen.pth'
    proc = run_tool('select_subnet.py', SLIMDA, bank_file, '--budget', '0.03', '--images', images,
                    '--max-images', '4', '--out', out, cwd=tiny_data_root)
    assert '| 1 | 0.0889 | 0.0000 | no |' in proc.stdout  # the widest is over this budget
    meta = torch.load(out, weights_only=True)['meta']
    assert meta['slimmable_width'][0] in (0.25, 0.5) and meta['selection']['images'] == 4
    assert meta['seed'] == 1 and meta['kind'] == 'slimmable subnet'  # the bank's lineage kept
    assert 'model.segmentor.inference_width=' in proc.stdout
    failed = run_tool('select_subnet.py', SLIMDA, bank_file, '--budget', '0.001', '--images',
                      images, cwd=tiny_data_root, check=False)
    assert failed.returncode != 0
    assert failed.stderr.strip().splitlines()[-1].startswith(
        'error: no sub-network fits a budget')
