# GTA -> IDD: DAFormer self-training, MiT-B0-sized + DAFormer head on the miniature data (CPU).
# Stage one of mtda: one of the per-target runs that share `init_checkpoint` and are merged later.
_base_ = [
    '../_base_/models/daformer_mit-b0_tiny.py',
    '../_base_/uda/daformer.py',  # EMA teacher, pseudo labels, ClassMix, FD
    '../_base_/datasets/gta_tiny.py',  # source: synthetic GTA, 64x64 crops
    '../_base_/datasets/targets_train_tiny.py',  # unlabelled target train splits
    '../_base_/datasets/targets_val_tiny.py',  # evaluation: the four targets
    '../_base_/schedules/uda_tiny.py',  # 600 iterations from the shared init
    '../_base_/default_runtime.py',
]
target_domain = 'idd'
model = dict(
    segmentor={{_base_.segmentor}},
    init_checkpoint='work_dirs/mtda_tiny/shared_init.pth',  # what the main job writes
    pseudo_margins=(2, 15, 0, 0))  # DAFormer's top 15 / bottom 120 rows at 512 crops, scaled
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True, type='UDADataset',
        source={{_base_.gta_train}},
        target={{_base_.idd_train}},
        rare_class_sampling={{_base_.gta_rare_class_sampling}},
        length='source'))  # sampler index list of len(source), not len(source) x len(target)
# validation during training on this run's own target; tools/test.py evaluates all four
val_cfg = dict(domains=dict(_delete_=True, idd={{_base_.idd_val}}))
