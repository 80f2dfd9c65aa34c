# DAFormer's schedule: AdamW lr 6e-5 (betas 0.9/0.999, wd 0.01), head lr x10, no weight decay on
# norms and position embeddings, linear warm-up over 1500 iterations then poly (power 1) to 0,
# 40k iterations, validation every 4000 (DAFormer configs/_base_/schedules/{adamw,poly10warm}.py).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-05, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(
        head=dict(lr_mult=10.0), pos_block=dict(decay_mult=0.0), norm=dict(decay_mult=0.0))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=40000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
