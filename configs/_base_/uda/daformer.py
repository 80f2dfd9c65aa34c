# DAFormer self-training (mtda.models.uda.DAFormerUDA) with DAFormer's published defaults; the
# experiment config fills `segmentor` (from a models/ base) and `init_checkpoint` (the shared init).
model = dict(
    type='DAFormerUDA',
    segmentor=dict(),                       # filled by the experiment config
    init_checkpoint=None,
    ema_alpha=0.999,                        # teacher EMA, alpha_t = min(1 - 1/(t+1), alpha)
    pseudo_threshold=0.968,                 # pseudo-label weight = share of pixels above it
    pseudo_margins=(15, 120, 0, 0),         # ignored target rows (top, bottom) / cols at 512 crops
    mix_per_sample=False,                   # ClassMix classes from the whole batch (DAFormer code)
    color_jitter_strength=0.2,
    color_jitter_probability=0.2,           # jitter when U(0,1) > 0.2, i.e. 80% of the time
    blur=True,                              # Gaussian blur, sigma ~ U(0.15, 1.15), 50%
    feature_distance_weight=0.005,          # ImageNet feature distance, source thing classes
    feature_distance_classes=(6, 7, 11, 12, 13, 14, 15, 16, 17, 18),
    feature_distance_scale_min_ratio=0.75,
    # MIC (Hoyer et al., CVPR 2023; configs/mic/): masked image consistency, off in DAFormer
    mask_weight=0.0,                        # MIC's mask_lambda; configs/mic/ set 1
    mask_ratio=0.7,                         # share of masked blocks
    mask_block_size=64,                     # block side in pixels
    mask_augment=True)                      # jitter/blur before masking (MIC's separatetrgaug)
