"""Domain appearance: turning a rasterised scene into an RGB image that looks like one dataset.

Every class gets a colour and a texture (grain at three scales plus a pattern: a fence lattice,
pavement tiles, rail sleepers, leaves), objects get a colour drawn from the domain's own palette
(bright game cars in GTA, grey and black ones in Cityscapes, painted trucks and yellow-green
autorickshaws in IDD), parts add windows, tyres, heads and lamps. The domain then shifts more than a
tint: its palettes, texture strength, sun and shadows, atmospheric haze, camera response
(saturation, contrast, vignetting, blur, sensor noise) and, for ACDC and Dark Zurich, an adverse
condition from :mod:`.conditions` (fog, rain, snow, night) all differ.

The class -> appearance relation is learnable (colour, texture and shape agree within a domain) and
transfers only partly across domains, the situation domain adaptation is for. Everything is
vectorised numpy on ``(H, W)`` maps; randomness comes from the caller's generator only.
"""
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping, Optional

import cv2
import numpy as np

from .conditions import Condition, Fog, Night, Rain, Snow, apply_condition
from .raster import SceneRaster
from .scene import PART_CODE, Scene
from .vocabulary import CLASS_INDEX, CLASS_NAMES

RGB = tuple

# Plausible daylight colours (sRGB 0-255) of each canonical class before any domain look.
NATURAL_COLOURS = MappingProxyType({
    'unlabeled': (0, 0, 0), 'sky': (135, 175, 215), 'road': (92, 92, 96),
    'lane marking': (222, 222, 212), 'sidewalk': (150, 140, 135), 'curb': (172, 168, 160),
    'parking': (112, 106, 112), 'ground': (122, 110, 95), 'terrain': (105, 130, 62),
    'rail track': (92, 84, 76), 'building': (140, 122, 106), 'wall': (160, 154, 140),
    'fence': (130, 118, 98), 'guard rail': (172, 172, 176), 'billboard': (200, 190, 70),
    'fallback background': (150, 148, 138), 'vegetation': (72, 110, 46), 'pole': (118, 118, 122),
    'polegroup': (110, 110, 114), 'traffic light': (38, 38, 34), 'traffic sign': (200, 40, 40),
    'person': (70, 70, 90), 'rider': (90, 60, 60), 'car': (60, 70, 110), 'truck': (190, 190, 190),
    'bus': (200, 170, 40), 'train': (160, 165, 170), 'motorcycle': (40, 40, 44),
    'bicycle': (50, 50, 56), 'autorickshaw': (210, 190, 40), 'animal': (200, 190, 175),
    'vehicle fallback': (120, 90, 60), 'ego vehicle': (28, 28, 32)})

# Luminance grain per class at three scales: (per pixel, ~1/40 of the width, ~1/8 of the width).
GRAIN = MappingProxyType({
    'road': (0.06, 0.04, 0.08), 'lane marking': (0.05, 0.02, 0.04), 'sidewalk': (0.05, 0.04, 0.05),
    'curb': (0.04, 0.02, 0.03), 'parking': (0.06, 0.04, 0.06), 'ground': (0.1, 0.08, 0.1),
    'terrain': (0.14, 0.14, 0.1), 'rail track': (0.12, 0.06, 0.04), 'building': (0.04, 0.05, 0.08),
    'wall': (0.05, 0.04, 0.05), 'fence': (0.08, 0.03, 0.03), 'guard rail': (0.03, 0.02, 0.02),
    'billboard': (0.04, 0.08, 0.05), 'fallback background': (0.08, 0.08, 0.06),
    'vegetation': (0.2, 0.22, 0.1), 'pole': (0.02, 0.01, 0.0), 'polegroup': (0.02, 0.01, 0.0),
    'person': (0.06, 0.04, 0.0), 'rider': (0.06, 0.04, 0.0), 'car': (0.03, 0.03, 0.02),
    'truck': (0.04, 0.03, 0.02), 'bus': (0.03, 0.02, 0.02), 'train': (0.03, 0.02, 0.02),
    'motorcycle': (0.06, 0.03, 0.0), 'bicycle': (0.1, 0.05, 0.0), 'autorickshaw': (0.04, 0.03, 0.0),
    'animal': (0.08, 0.06, 0.0), 'vehicle fallback': (0.08, 0.05, 0.02),
    'ego vehicle': (0.02, 0.02, 0.05)})

# Structured textures: kind and strength per class.
PATTERNS = MappingProxyType({'fence': ('lattice', 0.35), 'sidewalk': ('tiles', 0.12),
                             'rail track': ('sleepers', 0.3), 'wall': ('courses', 0.1),
                             'vegetation': ('leaves', 0.18), 'guard rail': ('courses', 0.2),
                             'polegroup': ('courses', 0.1)})

PART_COLOURS = MappingProxyType({
    'window': (58, 68, 84), 'lamp': (215, 215, 205), 'headlight': (220, 220, 214),
    'taillight': (150, 18, 18), 'wheel': (18, 18, 18), 'signal red': (235, 30, 20),
    'signal amber': (245, 160, 20), 'signal green': (30, 220, 110), 'signal off': (30, 30, 26),
    'inset': (236, 236, 230), 'skin': (200, 155, 125)})


@dataclass(frozen=True)
class DomainStyle:
    """How one domain looks. Colours are sRGB 0-255; factors are multiplicative around 1.

    Args:
        name: Short name (for messages).
        colours: Class colours overriding :data:`NATURAL_COLOURS`.
        palettes: Per-polygon colour choices for some classes (cars, clothes, buildings ...).
        part_colours: Overrides of :data:`PART_COLOURS`.
        grain: Scales every class's grain (0 = flat render, as in SYNTHIA).
        blotches: Extra large-scale luminance blotches on the ground (dust, repairs, puddles).
        colour_jitter: Per-frame, per-class colour variation (log-normal sigma).
        polygon_jitter: Per-polygon brightness variation (log-normal sigma).
        sky_gradient: How much brighter the sky gets towards the horizon.
        clouds: Amount of white cloud texture in the sky.
        shadow: Darkening inside cast shadows (0 under an overcast sky).
        haze: Atmospheric extinction per metre; distant things fade to ``haze_colour``.
        haze_colour: Colour of the haze.
        tint: Per-channel gain of the camera (white balance).
        exposure: Overall gain.
        saturation: 1 keeps colours, < 1 mutes them.
        contrast: Contrast around the frame mean.
        gamma: Tone curve exponent (> 1 darkens mid tones).
        vignette: Corner darkening (wide-angle action cameras).
        blur: Gaussian blur sigma in pixels at 1024 px width (optics, compression).
        noise: Sensor noise standard deviation (0-1 scale) at 1024 px width. A frame rendered
            at width ``w`` gets ``noise * w / 1024``: downscaling by ``k`` averages ``k**2``
            independent pixels, dividing the noise by ``k``, so a 128 px miniature of a noisy
            night frame is as clean as the real frame shrunk to 128 px.
        condition: Fog, rain, snow or night applied to the daylight rendering, or None.
    """

    name: str
    colours: Mapping[str, RGB] = field(default_factory=dict)
    palettes: Mapping[str, tuple] = field(default_factory=dict)
    part_colours: Mapping[str, RGB] = field(default_factory=dict)
    grain: float = 1.0
    blotches: float = 0.0
    colour_jitter: float = 0.05
    polygon_jitter: float = 0.07
    sky_gradient: float = 0.25
    clouds: float = 0.1
    shadow: float = 0.2
    haze: float = 0.0
    haze_colour: RGB = (200, 200, 200)
    tint: tuple = (1.0, 1.0, 1.0)
    exposure: float = 1.0
    saturation: float = 1.0
    contrast: float = 1.0
    gamma: float = 1.0
    vignette: float = 0.0
    blur: float = 0.0
    noise: float = 0.008
    condition: Optional[Condition] = None


@dataclass(frozen=True)
class Rendering:
    """An RGB image and the pixels an annotator could not have resolved in it (ACDC's invIds)."""

    image: np.ndarray    # (H, W, 3) uint8
    invalid: np.ndarray  # (H, W) bool


@dataclass(frozen=True)
class NoiseFields:
    """Zero-mean, unit-ish noise at three scales, shared by all classes of one frame."""

    fine: np.ndarray
    mid: np.ndarray
    coarse: np.ndarray

    @classmethod
    def sample(cls, rng: np.random.Generator, height: int, width: int) -> 'NoiseFields':
        def smooth(cells_x):
            cells_y = max(2, int(round(cells_x * height / width)))
            grid = rng.standard_normal((cells_y, cells_x)).astype(np.float32)
            return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        return cls(fine=rng.standard_normal((height, width)).astype(np.float32),
                   mid=smooth(max(4, width // 12)), coarse=smooth(8))


def _unit(colour) -> np.ndarray:
    return np.asarray(colour, dtype=np.float32) / 255.0


def render(style: DomainStyle, scene: Scene, raster: SceneRaster,
           rng: np.random.Generator) -> Rendering:
    """Render ``scene`` in ``style``; deterministic given the generator's state."""
    height, width = raster.classes.shape
    noise = NoiseFields.sample(rng, height, width)
    image = _colours(style, scene, raster, rng)
    image *= _texture(style, raster, noise)[..., None]
    image = _sky(style, scene, raster, noise, image)
    image = _parts(style, raster, rng, image)
    if style.haze > 0:
        transmission = np.exp(-style.haze * np.minimum(raster.depth, 600.0))[..., None]
        image = image * transmission + _unit(style.haze_colour) * (1.0 - transmission)
    invalid = np.zeros((height, width), dtype=bool)
    if style.condition is not None:
        image, invalid = apply_condition(style.condition, image=image, scene=scene,
                                         raster=raster, noise=noise, rng=rng)
    return Rendering(image=_camera_response(style, image, rng), invalid=invalid)


def _colours(style: DomainStyle, scene: Scene, raster: SceneRaster, rng) -> np.ndarray:
    """Per-polygon colour: the class colour (or a palette pick), jittered per frame and polygon."""
    labelled = scene.labelled()
    n_classes = len(CLASS_NAMES)
    class_gain = np.exp(rng.normal(0.0, style.colour_jitter, (n_classes, 3))).astype(np.float32)
    table = np.zeros((len(labelled) + 1, 3), dtype=np.float32)
    picks = rng.random(len(labelled))
    gains = np.exp(rng.normal(0.0, style.polygon_jitter, len(labelled)))
    for k, polygon in enumerate(labelled, start=1):
        palette = style.palettes.get(polygon.label)
        if palette:
            colour = palette[int(picks[k - 1] * len(palette))]
        else:
            colour = style.colours.get(polygon.label, NATURAL_COLOURS[polygon.label])
        table[k] = _unit(colour) * class_gain[CLASS_INDEX[polygon.label]] * gains[k - 1]
    return table[raster.polygon_ids]


def _pattern(kind: str, shape: tuple, period: int, noise: NoiseFields) -> np.ndarray:
    """A structured luminance texture around 0 (tiny images get periods of a few pixels)."""
    rows, cols = np.indices(shape)
    if kind == 'lattice':
        return (((rows + cols) % period == 0) | ((rows - cols) % period == 0)) * -1.0 + 0.3
    if kind == 'tiles':
        return ((rows % (2 * period) == 0) | (cols % (2 * period) == 0)) * -1.0 + 0.2
    if kind == 'sleepers':
        return (rows % period < max(1, period // 3)) * -1.0 + 0.4
    if kind == 'courses':
        return (rows % period == 0) * -1.0 + 0.25
    if kind == 'leaves':
        return np.sign(noise.mid + 0.5 * noise.fine)
    raise ValueError(f'unknown pattern {kind!r}')


def _texture(style: DomainStyle, raster: SceneRaster, noise: NoiseFields) -> np.ndarray:
    """Multiplicative luminance: class grain at three scales, patterns and ground blotches."""
    amplitude = np.zeros((len(CLASS_NAMES), 3), dtype=np.float32)
    for name, grain in GRAIN.items():
        amplitude[CLASS_INDEX[name]] = grain
    amplitude *= style.grain
    for name in ('road', 'ground', 'terrain', 'sidewalk', 'parking'):
        amplitude[CLASS_INDEX[name], 2] += style.blotches
    cls = raster.classes
    luminance = (1.0 + amplitude[cls, 0] * noise.fine + amplitude[cls, 1] * noise.mid
                 + amplitude[cls, 2] * noise.coarse)
    period = max(3, int(round(cls.shape[1] / 160)))
    for name, (kind, strength) in PATTERNS.items():
        mask = cls == CLASS_INDEX[name]
        if mask.any():
            luminance += mask * (strength * style.grain) * _pattern(kind, cls.shape, period, noise)
    return np.clip(luminance, 0.2, 2.0).astype(np.float32)


def _sky(style: DomainStyle, scene: Scene, raster: SceneRaster, noise: NoiseFields,
         image: np.ndarray) -> np.ndarray:
    """Brighter towards the horizon, with clouds; the rest of the frame is left alone."""
    sky = raster.classes == CLASS_INDEX['sky']
    if not sky.any():
        return image
    cam = scene.camera
    rows = np.arange(image.shape[0], dtype=np.float32)[:, None]
    towards_horizon = np.clip(1.0 - (cam.horizon - rows) / max(cam.horizon, 1.0), 0.0, 1.0)
    lit = image * (1.0 + style.sky_gradient * towards_horizon)[..., None]
    cloud = np.clip(0.5 * noise.coarse + 0.3 * noise.mid, 0.0, 1.0)[..., None] * style.clouds
    lit = lit * (1.0 - cloud) + 0.95 * cloud
    return np.where(sky[..., None], lit, image)


def _parts(style: DomainStyle, raster: SceneRaster, rng, image: np.ndarray) -> np.ndarray:
    """Windows, lamps, tyres, heads and sign faces over their owners; cast shadows darken."""
    colours = dict(PART_COLOURS, **style.part_colours)
    table = np.zeros((len(PART_CODE), 3), dtype=np.float32)
    for name, colour in colours.items():
        table[PART_CODE[name]] = _unit(colour)
    parts = raster.parts
    gain = np.exp(rng.normal(0.0, 0.15, int(raster.part_ids.max()) + 1)).astype(np.float32)
    painted = (parts > 0) & (parts != PART_CODE['shadow'])
    coloured = table[parts] * gain[raster.part_ids][..., None]
    image = np.where(painted[..., None], coloured, image)
    shadow = (parts == PART_CODE['shadow'])[..., None]
    return np.where(shadow, image * (1.0 - style.shadow), image)


def _camera_response(style: DomainStyle, image: np.ndarray, rng) -> np.ndarray:
    """White balance, exposure, saturation, contrast, tone curve, vignette, blur, noise -> uint8."""
    height, width = image.shape[:2]
    image = np.clip(image * np.asarray(style.tint, np.float32) * style.exposure, 0.0, None)
    grey = image @ np.asarray([0.299, 0.587, 0.114], np.float32)
    image = grey[..., None] + style.saturation * (image - grey[..., None])
    mean = float(grey.mean())
    image = mean + style.contrast * (image - mean)
    image = np.clip(image, 0.0, 1.0) ** style.gamma
    if style.vignette:
        rows, cols = np.indices((height, width), dtype=np.float32)
        radius = ((cols - width / 2) / (width / 2)) ** 2 + ((rows - height / 2) / (height / 2)) ** 2
        image *= (1.0 - style.vignette * radius / 2.0)[..., None]
    sigma = style.blur * width / 1024.0
    if sigma >= 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    if style.noise:
        sensor_noise = style.noise * width / 1024.0
        image = image + sensor_noise * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------------
# Domains

_GAME_CARS = ((200, 30, 30), (30, 60, 190), (240, 240, 240), (20, 20, 20), (230, 180, 20),
              (40, 150, 60), (160, 160, 170), (130, 20, 130), (240, 110, 20))
_GAME_CLOTHES = ((200, 40, 40), (40, 60, 170), (30, 30, 30), (235, 235, 235), (60, 150, 60),
                 (210, 170, 40), (130, 80, 50))

GTA = DomainStyle(
    name='gta',
    colours={'sky': (70, 128, 210), 'road': (72, 72, 78), 'lane marking': (240, 240, 228),
             'sidewalk': (178, 162, 150), 'curb': (195, 190, 182), 'ground': (150, 125, 88),
             'terrain': (120, 165, 50), 'wall': (205, 192, 158), 'fence': (150, 118, 75),
             'vegetation': (50, 138, 32), 'pole': (96, 96, 102), 'guard rail': (192, 192, 198),
             'rail track': (110, 90, 70)},
    palettes={'sky': ((70, 128, 210), (120, 160, 215), (175, 185, 200)),  # clear to overcast
              'vegetation': ((50, 138, 32), (72, 122, 40), (95, 130, 50)),
              'car': _GAME_CARS, 'truck': ((225, 225, 225), (185, 30, 30), (30, 95, 175),
                                           (235, 140, 20)),
              'bus': ((215, 185, 25), (205, 40, 40), (40, 95, 205)),
              'train': ((175, 180, 188), (125, 135, 145), (200, 60, 40)),
              'person': _GAME_CLOTHES, 'rider': ((225, 50, 30), (30, 30, 30), (245, 205, 0)),
              'motorcycle': ((20, 20, 20), (195, 20, 20), (20, 50, 175), (225, 225, 225)),
              'bicycle': ((30, 30, 30), (160, 20, 20), (20, 20, 130)),
              'traffic sign': ((205, 30, 30), (30, 70, 195), (245, 195, 20)),
              'building': ((190, 148, 105), (205, 195, 172), (155, 112, 88), (172, 172, 185),
                           (120, 130, 150))},
    part_colours={'window': (80, 110, 150)},
    grain=1.25, clouds=0.2, sky_gradient=0.35, shadow=0.45, tint=(1.05, 1.0, 0.94),
    saturation=1.35, contrast=1.15, noise=0.004)

# SYNTHIA-RAND: flat untextured renders, cool light, random object colours, no sun.
SYNTHIA = DomainStyle(
    name='synthia',
    colours={'sky': (118, 160, 232), 'road': (104, 92, 108), 'lane marking': (230, 230, 235),
             'sidewalk': (188, 178, 172), 'building': (160, 160, 178), 'wall': (175, 150, 128),
             'fence': (135, 112, 90), 'vegetation': (72, 152, 78), 'pole': (132, 132, 142),
             'ground': (160, 150, 140)},
    palettes={'car': tuple((r, g, b) for r in (30, 130, 230) for g in (40, 200)
                           for b in (40, 220)),
              'bus': ((60, 160, 220), (220, 120, 40), (230, 230, 230)),
              'person': ((220, 70, 70), (70, 70, 220), (60, 180, 90), (230, 230, 120),
                         (40, 40, 40), (180, 120, 200)),
              'rider': ((240, 140, 30), (40, 40, 40), (90, 200, 230)),
              'motorcycle': ((30, 30, 30), (200, 200, 40), (40, 160, 220)),
              'bicycle': ((40, 40, 40), (200, 60, 160)),
              'traffic sign': ((210, 40, 40), (40, 80, 210)),
              'building': ((160, 160, 178), (190, 175, 150), (130, 140, 160), (200, 200, 205))},
    part_colours={'window': (110, 130, 165), 'skin': (230, 190, 160)},
    grain=0.4, colour_jitter=0.15, polygon_jitter=0.12, clouds=0.0, sky_gradient=0.1,
    shadow=0.0, tint=(0.95, 1.0, 1.08), saturation=1.2, contrast=1.05, noise=0.0)

# Cityscapes: overcast German streets, muted colours, a soft lens, the Mercedes bonnet.
CITYSCAPES = DomainStyle(
    name='cityscapes',
    colours={'sky': (205, 210, 216), 'road': (112, 112, 108), 'lane marking': (200, 200, 194),
             'sidewalk': (146, 136, 130), 'curb': (160, 155, 150), 'parking': (126, 116, 120),
             'ground': (122, 114, 102), 'terrain': (116, 126, 76), 'wall': (150, 145, 134),
             'fence': (122, 116, 104), 'vegetation': (82, 100, 56), 'pole': (104, 104, 104),
             'rail track': (102, 96, 90), 'ego vehicle': (24, 24, 28)},
    palettes={'car': ((40, 40, 42), (200, 200, 200), (122, 122, 126), (32, 42, 72),
                      (92, 22, 22), (170, 170, 164), (62, 62, 62)),
              'truck': ((200, 200, 200), (90, 90, 95), (42, 62, 102)),
              'bus': ((212, 206, 190), (60, 92, 62)), 'train': ((202, 200, 190), (42, 92, 152)),
              'person': ((36, 36, 42), (62, 62, 72), (92, 82, 72), (140, 32, 32), (42, 52, 92),
                         (180, 180, 175)),
              'rider': ((36, 36, 42), (150, 40, 30), (60, 70, 60)),
              'motorcycle': ((30, 30, 32), (120, 30, 30)), 'bicycle': ((36, 36, 40),),
              'traffic sign': ((190, 40, 40), (40, 70, 160), (215, 195, 60)),
              'building': ((125, 115, 105), (150, 140, 125), (110, 105, 100), (170, 160, 145),
                           (132, 96, 82))},
    part_colours={'window': (52, 58, 66)},
    grain=0.8, clouds=0.05, sky_gradient=0.08, shadow=0.06, tint=(0.98, 1.01, 0.98),
    saturation=0.85, contrast=0.9, exposure=0.96, vignette=0.1, blur=0.6, noise=0.008)

# IDD: dusty, sunny Indian roads: brown dirt verges, painted buildings and trucks, yellow-green
# autorickshaws, curbs painted black and yellow, hazy whitish sky.
IDD = DomainStyle(
    name='idd',
    colours={'sky': (212, 206, 190), 'road': (122, 114, 104), 'lane marking': (205, 198, 170),
             'sidewalk': (165, 142, 118), 'ground': (152, 122, 86), 'terrain': (148, 126, 86),
             'wall': (188, 166, 138), 'fence': (110, 100, 90), 'vegetation': (96, 112, 58),
             'pole': (122, 116, 110), 'polegroup': (112, 108, 100),
             'fallback background': (152, 142, 126)},
    palettes={'car': ((232, 232, 232), (170, 170, 175), (182, 42, 42), (42, 42, 46),
                      (200, 160, 100)),
              'truck': ((205, 120, 40), (222, 60, 50), (60, 100, 172), (232, 210, 80)),
              'bus': ((202, 62, 42), (62, 112, 172), (222, 222, 212)),
              'person': ((232, 232, 222), (182, 42, 62), (62, 82, 142), (202, 152, 52),
                         (102, 72, 52), (52, 52, 52)),
              'rider': ((232, 232, 222), (52, 52, 52), (182, 42, 62)),
              'motorcycle': ((22, 22, 22), (152, 22, 22), (40, 40, 120)),
              'bicycle': ((36, 36, 36),),
              'autorickshaw': ((218, 192, 40), (42, 122, 62)),
              'animal': ((222, 216, 206), (122, 92, 62), (62, 52, 46)),
              'vehicle fallback': ((152, 62, 42), (72, 92, 62)),
              'billboard': ((222, 62, 42), (42, 122, 202), (242, 212, 52), (250, 250, 250)),
              'curb': ((202, 182, 42), (42, 42, 42)),
              'traffic sign': ((200, 40, 40), (40, 90, 170)),
              'building': ((202, 152, 142), (216, 192, 122), (132, 172, 192), (182, 182, 172),
                           (162, 122, 102), (212, 212, 202))},
    part_colours={'window': (60, 56, 52), 'skin': (150, 105, 80)},
    grain=1.0, blotches=0.15, colour_jitter=0.07, clouds=0.0, sky_gradient=0.05, shadow=0.3,
    haze=1 / 180.0, haze_colour=(206, 196, 176), tint=(1.06, 1.0, 0.9), saturation=0.88,
    contrast=0.85, blur=0.4, noise=0.015)

# Zurich in daylight through a GoPro: clearer than Cityscapes, wide-angle vignetting.
ZURICH_DAY = DomainStyle(
    name='zurich_day',
    colours={'sky': (162, 188, 218), 'road': (100, 100, 104), 'sidewalk': (156, 146, 140),
             'terrain': (104, 132, 60), 'vegetation': (68, 104, 48), 'wall': (170, 164, 150),
             'fence': (118, 110, 96), 'pole': (112, 112, 116)},
    palettes={'car': ((42, 42, 44), (205, 205, 205), (120, 124, 130), (30, 50, 90),
                      (150, 30, 30)),
              'bus': ((40, 110, 180), (215, 215, 210)), 'train': ((40, 110, 180), (230, 230, 225)),
              'person': ((40, 40, 46), (70, 70, 80), (150, 40, 40), (50, 60, 100)),
              'traffic sign': ((200, 40, 40), (40, 80, 180)),
              'building': ((192, 182, 166), (162, 152, 140), (212, 202, 186), (140, 130, 120))},
    part_colours={'window': (50, 58, 70)},
    grain=0.9, clouds=0.12, sky_gradient=0.2, shadow=0.2, saturation=0.95, vignette=0.25,
    blur=0.5, noise=0.01)

ACDC_CONDITIONS = ('fog', 'night', 'rain', 'snow')

# Adverse weather comes with an overcast sky: no cast shadows.
_OVERCAST = dict(shadow=0.0, clouds=0.0)
ACDC_FOG = replace(ZURICH_DAY, name='acdc_fog', condition=Fog(), **_OVERCAST)
ACDC_RAIN = replace(ZURICH_DAY, name='acdc_rain', condition=Rain(), **_OVERCAST)
ACDC_SNOW = replace(ZURICH_DAY, name='acdc_snow', condition=Snow(), **_OVERCAST)
ACDC_NIGHT = replace(ZURICH_DAY, name='acdc_night', condition=Night(), **_OVERCAST,
                     noise=0.012, blur=0.6)
# Dark Zurich: an older GoPro at night: sodium-orange street lamps, heavy noise, flat contrast.
DARK_ZURICH_NIGHT = replace(
    ZURICH_DAY, name='dark_zurich_night', shadow=0.0, clouds=0.0, contrast=0.8, blur=0.9,
    noise=0.03, condition=Night(ambient=(0.06, 0.1), lamp_colour=(1.0, 0.62, 0.28),
                                headlights=0.45))

STYLES = MappingProxyType({
    'gta': GTA, 'synthia': SYNTHIA, 'cityscapes': CITYSCAPES, 'idd': IDD,
    'zurich_day': ZURICH_DAY, 'acdc_fog': ACDC_FOG, 'acdc_rain': ACDC_RAIN,
    'acdc_snow': ACDC_SNOW, 'acdc_night': ACDC_NIGHT, 'dark_zurich_night': DARK_ZURICH_NIGHT})

__all__ = ['DomainStyle', 'Rendering', 'NoiseFields', 'render', 'STYLES', 'ACDC_CONDITIONS',
           'Rain', 'Snow', 'Fog', 'Night']
