# UDA on the miniature data, starting from the shared init (a source-only pretraining): the
# DAFormer optimiser and parameter groups, lr 2e-4, warm-up 50, poly to 0 over 600 iterations.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-04, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(
        head=dict(lr_mult=10.0), pos_block=dict(decay_mult=0.0), norm=dict(decay_mult=0.0))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=600),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600, val_interval=600)
