# Runtime shared by every mtda experiment (mmseg 1.x conventions, iteration-based).
default_scope = 'mmseg'
custom_imports = dict(imports=['mtda'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
custom_hooks = [
    # weights-only exports (work_dir/weights/iter_N.pth beside each checkpoint, and final.pth)
    # for evaluation, sharing and merging
    dict(type='ExportWeightsHook'),
    # checkpoints as plain data, so --resume loads them weights-only (mtda/training/)
    dict(type='PlainCheckpointHook'),
    # torch's generator states in checkpoints: a resumed run ends where an uninterrupted one would
    dict(type='RandomStateHook'),
]
