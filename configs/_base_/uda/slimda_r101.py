# SlimDA's bank (./slimda.py) on ResNetV1c-101 + DAFormer head, the paper's real-size model, with
# its width stages for tools/select_subnet.py: a stage is one of ResNet's residual layers (a
# residual stream runs at one width; a layer's first block reads the previous stream and emits its
# own), the deep stem going with layer1, and the decode head with the SEED classifier: 4 widths
# over 5 stages. The slimmable networks' ResNets keep their widths in the same places
# (JiahuiYu/slimmable_networks, models/s_resnet.py).
_base_ = ['./slimda.py']
slimda = dict(
    segmentor=dict(
        width_stages=(
            ('backbone.stem', 'backbone.layer1'),  # stride 2-4
            ('backbone.layer2',),  # stride 8
            ('backbone.layer3',),  # stride 8, dilation 2
            ('backbone.layer4',),  # stride 8, dilation 4
            ('decode_head', 'seed_classifier'))))
