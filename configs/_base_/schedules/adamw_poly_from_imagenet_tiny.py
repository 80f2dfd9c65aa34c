# Training from an ImageNet backbone and a fresh head on the miniature data (the paper's start, in
# miniature), stage one and the source-only row alike: DAFormer's optimiser and parameter groups
# over 1500 iterations, the length at which the other families' tiny source-only pretraining
# converges on synthetic GTA.
#   DAFormer: lr 6e-5, head x10 (a random head), warm-up 1500 of 40k iterations, poly decay.
#   Here: lr 2e-4 (fewer iterations: the tiny UDA schedule's rate), head x10 as DAFormer meant it
#   (the head is random here, as in DAFormer), warm-up 56 iterations (the same 3.75 % of the run).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-04, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(
        head=dict(lr_mult=10.0), pos_block=dict(decay_mult=0.0), norm=dict(decay_mult=0.0))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=56),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=56, end=1500),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500, val_interval=1500)
