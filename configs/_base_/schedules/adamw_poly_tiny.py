# The DAFormer schedule shrunk for CPU runs on the miniature synthetic data: same optimiser and
# parameter groups, a 10x higher lr (random init, few iterations), warm-up over the first 100.
# 1500 iterations of the tiny MiT-B0 take ~1.5 min on 2 cores.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-04, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(
        head=dict(lr_mult=10.0), pos_block=dict(decay_mult=0.0), norm=dict(decay_mult=0.0))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=100, end=1500),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500, val_interval=1500)
