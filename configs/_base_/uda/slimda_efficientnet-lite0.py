# SlimDA's bank (./slimda.py) on the EfficientNet-Lite0 + DAFormer head miniature, with its width
# stages: the candidates of tools/select_subnet.py run each stage at its own width. A stage is a
# resolution level of the backbone (timm's blocks by stride: 4, 8, 16, 32; the stem and stride-2
# block feed a depthwise conv of the first, so they go with it) and the decode head with the SEED
# classifier: 4 widths over 5 stages, 1024 sub-networks. Stages must hold whole channel groups
# (mtda/models/slimmable/segmentor.py).
_base_ = ['./slimda.py']
slimda = dict(
    segmentor=dict(
        width_stages=(
            ('backbone.timm_model.conv_stem', 'backbone.timm_model.bn1',
             'backbone.timm_model.blocks.0', 'backbone.timm_model.blocks.1'),  # stride 2-4
            ('backbone.timm_model.blocks.2',),  # stride 8
            ('backbone.timm_model.blocks.3', 'backbone.timm_model.blocks.4'),  # stride 16
            ('backbone.timm_model.blocks.5', 'backbone.timm_model.blocks.6'),  # stride 32
            ('decode_head', 'seed_classifier'))))
