# SlimDA's bank training on DAFormer's self-training (mtda.models.uda.SlimDAUDA, docs/slimda.md):
# a stage-one config that inherits a DAFormer one adds it with `model = {{_base_.slimda}}`.
slimda = dict(
    type='SlimDAUDA',
    segmentor=dict(
        type='SlimmableEncoderDecoder',
        width_mult_list=(0.25, 0.5, 0.75, 1.0),  # SlimDA / slimmable ResNets' widths
        seed_classifier=True),  # the auxiliary classifier only SEED trains (SlimDA's C_a)
    width_samples=4,  # sandwich rule: widest, narrowest and 2 random widths per iteration
    seed_weight=1.0,
    seed_temperature=0.5)  # sharpening of the ensemble (mtda's choice; SlimDA's is not public)
