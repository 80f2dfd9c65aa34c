"""Adverse conditions on a daylight rendering: fog, rain, snow and night (ACDC, Dark Zurich).

Each condition changes what the image shows, not only its colour balance, and uses the scene's
geometry to do it:

* fog: Koschmieder's law, ``I = J t + A (1 - t)`` with ``t = exp(-3 d / visibility)``, so distant
  things vanish into grey and contrast falls with depth;
* rain: a darker overcast frame, wet ground mirroring what stands above it, slanted streaks and
  blurry drops on the lens;
* snow: white ground with darker tyre tracks converging to the vanishing point, snow on leaves,
  light haze and falling flakes;
* night: a dim ambient light, sky gone dark, pools of light around street lamps and the car's own
  headlights, glowing lamps, lit windows, head- and taillights; then the camera's auto-exposure
  gain, which makes the frame dark but visible (as in Dark Zurich and ACDC night, whose cameras
  expose for the lit street) and leaves the style's sensor noise on top.

Every condition also returns the pixels it made unrecognisable (ACDC's ``_gt_invIds`` mask).
Images are float32 ``(H, W, 3)`` in [0, 1].
"""
from dataclasses import dataclass
from typing import Union

import cv2
import numpy as np

from .raster import SceneRaster
from .scene import PART_CODE, Scene
from .vocabulary import CLASS_INDEX

_GROUND = ('road', 'lane marking', 'sidewalk', 'curb', 'parking', 'ground', 'terrain',
           'rail track')
_LUMA = np.asarray([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class Fog:
    visibility: tuple = (35.0, 110.0)         # metres at which 5 % of the scene light remains
    airlight: tuple = (0.7, 0.85)


@dataclass(frozen=True)
class Rain:
    darkness: tuple = (0.55, 0.7)             # overall light level under rain clouds
    visibility: tuple = (250.0, 600.0)
    wetness: tuple = (0.3, 0.55)              # strength of reflections on wet ground
    streak_density: float = 0.006
    lens_drops: tuple = (0, 4)


@dataclass(frozen=True)
class Snow:
    cover: tuple = (0.75, 0.95)
    visibility: tuple = (150.0, 400.0)
    flake_density: float = 0.008


@dataclass(frozen=True)
class Night:
    ambient: tuple = (0.08, 0.12)             # fraction of daylight left (moon, sky glow, city)
    ambient_tint: tuple = (0.75, 0.85, 1.0)   # moonlight and sky glow are bluish
    lamp_colour: tuple = (1.0, 0.9, 0.75)     # LED street lamps; sodium lamps are orange
    lamp_reach: float = 0.08                  # radius of a lamp's pool of light / image width
    headlights: float = 0.6                   # the camera car's own beams
    lit_windows: float = 0.4
    # Auto-exposure: the gain that brings the frame's mean luminance to this level, capped at
    # max_gain (a night frame stays darker and flatter than a day frame: daylight mean ~0.45).
    exposure: tuple = (0.22, 0.3)
    max_gain: float = 3.0


Condition = Union[Fog, Rain, Snow, Night]


def _mask(raster: SceneRaster, names) -> np.ndarray:
    return np.isin(raster.classes, [CLASS_INDEX[n] for n in names])


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; wide ones (glows, pools of light) run on a downscaled copy, since a 60 px
    sigma on a 1920x1080 frame costs half a second and looks the same."""
    factor = int(sigma // 4)
    if factor < 2:
        return cv2.GaussianBlur(image, (0, 0), max(sigma, 0.3))
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, width // factor), max(1, height // factor)),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _attenuate(image: np.ndarray, depth: np.ndarray, visibility: float, airlight) -> tuple:
    transmission = np.exp(-3.0 * depth / visibility)[..., None]
    return image * transmission + np.asarray(airlight, np.float32) * (1 - transmission), \
        transmission[..., 0]


def _uniform(rng, bounds) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def apply_condition(condition: Condition, *, image: np.ndarray, scene: Scene, raster: SceneRaster, noise,
                    rng: np.random.Generator) -> tuple:
    """Apply ``condition`` (a :class:`Fog`, :class:`Rain`, :class:`Snow` or :class:`Night`).

    Returns ``(image, invalid)`` where ``invalid`` is a bool ``(H, W)`` mask.
    """
    handlers = {Fog: _fog, Rain: _rain, Snow: _snow, Night: _night}
    if type(condition) not in handlers:
        raise TypeError(f'unknown condition {condition!r}')
    return handlers[type(condition)](condition, image, scene, raster, noise, rng)


def _fog(p: Fog, image, scene, raster, noise, rng):
    grey = _uniform(rng, p.airlight)
    fogged, transmission = _attenuate(image, raster.depth, _uniform(rng, p.visibility),
                                      (grey * 0.98, grey, grey * 1.02))
    invalid = (transmission < 0.06) & (raster.classes != CLASS_INDEX['sky'])
    return fogged, invalid


def _overcast_sky(image, raster, colour):
    sky = (raster.classes == CLASS_INDEX['sky'])[..., None]
    return np.where(sky, np.asarray(colour, np.float32), image)


def _rain(p: Rain, image, scene, raster, noise, rng):
    height, width = raster.classes.shape
    cam = scene.camera
    image = _overcast_sky(image, raster, (0.62, 0.64, 0.68)) * _uniform(rng, p.darkness)
    grey = (image @ _LUMA)[..., None]
    image = grey + 0.7 * (image - grey)
    image, _ = _attenuate(image, raster.depth, _uniform(rng, p.visibility), (0.45, 0.47, 0.5))
    # Wet ground mirrors the scene about the horizon, blurred by ripples, stronger in puddles.
    rows = np.arange(height)
    mirror = np.clip(np.rint(2 * cam.horizon - rows), 0, height - 1).astype(int)
    reflection = cv2.blur(image[mirror], (1, max(3, height // 24)))
    wet = _uniform(rng, p.wetness) * np.clip(0.6 + 0.6 * noise.coarse, 0.0, 1.0)
    wet = (wet * _mask(raster, _GROUND))[..., None]
    image = image * (1 - wet) + reflection * wet * 1.1
    # Streaks: sparse drops smeared along a slanted line.
    drops = (rng.random((height, width)) < p.streak_density).astype(np.float32)
    drops *= rng.uniform(0.4, 1.0, (height, width)).astype(np.float32)
    length = max(3, int(0.08 * height))
    kernel = np.zeros((length, length), np.float32)
    slant = rng.uniform(-0.25, 0.25)
    for k in range(length):
        kernel[k, int(np.clip(round(length / 2 + slant * (k - length / 2)), 0, length - 1))] = 1
    streaks = cv2.filter2D(drops, -1, kernel / length * 3.0)
    image = image + 0.35 * np.clip(streaks, 0, 1)[..., None] * np.float32([0.85, 0.88, 0.92])
    # Drops on the lens: blurry discs the annotator cannot see through.
    invalid = np.zeros((height, width), bool)
    lens = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(p.lens_drops[0], p.lens_drops[1] + 1))):
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        cv2.circle(lens, centre, max(2, int(rng.uniform(0.03, 0.07) * width)), 1.0, -1)
    if lens.any():
        lens = _blur(lens, 0.01 * width)[..., None]
        image = image * (1 - lens) + _blur(image, 0.02 * width) * lens
        invalid = lens[..., 0] > 0.5
    return image, invalid


def _snow(p: Snow, image, scene, raster, noise, rng):
    height, width = raster.classes.shape
    cam = scene.camera
    image = _overcast_sky(image, raster, (0.8, 0.82, 0.86))
    white = np.float32([0.92, 0.94, 0.97])
    cover = _uniform(rng, p.cover) * np.clip(0.85 + 0.25 * noise.mid, 0, 1)
    # Tyre tracks: lateral ground position of each pixel, dark where wheels have cleared the snow.
    rows, cols = np.indices((height, width), dtype=np.float32)
    below = np.maximum(rows - cam.horizon, 0.5)
    lateral = (cols - cam.centre_x) * cam.mount_height / below
    track = np.abs(((lateral + 0.8) % 1.6) - 0.8) > 0.45
    road = _mask(raster, ('road', 'lane marking'))
    cover = np.where(road & track, cover * 0.35, cover)
    cover = cover * _mask(raster, _GROUND) + (
        0.45 * (noise.fine > 0.3) * _mask(raster, ('vegetation', 'fence', 'wall')))
    image = image * (1 - cover[..., None]) + white * cover[..., None]
    image, _ = _attenuate(image, raster.depth, _uniform(rng, p.visibility), (0.8, 0.82, 0.86))
    # Flakes: many small far ones and a few big blurred near ones.
    small = (rng.random((height, width)) < p.flake_density).astype(np.float32)
    big = (rng.random((height, width)) < p.flake_density / 6).astype(np.float32)
    big = _blur(big, max(0.8, width / 400)) * 6
    flakes = np.clip(_blur(small, 0.5) * 2 + big, 0, 1)[..., None]
    image = image * (1 - flakes) + 0.97 * flakes
    return image, flakes[..., 0] > 0.8


def _night(p: Night, image, scene, raster, noise, rng):
    height, width = raster.classes.shape
    cam = scene.camera
    parts = raster.parts
    # Light sources: what each part emits (lit windows chosen per window).
    emit = np.zeros((height, width, 3), np.float32)
    sources = {'lamp': np.asarray(p.lamp_colour) * 3.0, 'headlight': (2.5, 2.5, 2.3),
               'taillight': (1.6, 0.1, 0.08), 'signal red': (2.0, 0.2, 0.1),
               'signal amber': (2.0, 1.2, 0.2), 'signal green': (0.2, 2.0, 1.0)}
    for name, colour in sources.items():
        emit[parts == PART_CODE[name]] = colour
    lit = rng.random(int(raster.part_ids.max()) + 1) < p.lit_windows
    windows = (parts == PART_CODE['window']) & lit[raster.part_ids] & (
        raster.classes == CLASS_INDEX['building'])
    emit[windows] = (0.9, 0.7, 0.4)
    # Illumination: ambient, pools of light around lamps, and the car's own headlights.
    ambient = _uniform(rng, p.ambient) * np.asarray(p.ambient_tint, np.float32)
    lamps = (parts == PART_CODE['lamp']).astype(np.float32)
    reach = p.lamp_reach * width
    # The lamp with the largest head (the nearest) lights its surroundings fully, smaller and
    # farther ones proportionally less.
    pools = _blur(lamps, reach)
    pools = (1.2 * pools / max(float(pools.max()), 1e-6))[..., None] * np.asarray(
        p.lamp_colour, np.float32)
    rows, cols = np.indices((height, width), dtype=np.float32)
    ahead = np.clip((rows - cam.horizon) / max(height - cam.horizon, 1), 0, 1)
    beam = p.headlights * np.exp(-((cols - cam.centre_x) / (0.35 * width)) ** 2) * ahead ** 1.5
    beam = beam * (raster.depth < 60)
    illumination = ambient + pools + beam[..., None]
    shaded = image * illumination
    glow = _blur(emit, 0.006 * width + 0.5) * 0.8 + _blur(emit, 0.03 * width) * 1.5
    sky = (raster.classes == CLASS_INDEX['sky'])[..., None]
    skylight = np.float32([0.02, 0.025, 0.05]) + np.float32([0.05, 0.03, 0.01]) * np.clip(
        rows / max(cam.horizon, 1), 0, 1)[..., None]
    night = np.where(sky, skylight, shaded) + emit * 0.6 + glow
    # What the scene itself lit decides what is recognisable, before the camera's gain.
    visible = (shaded @ _LUMA) + (glow @ _LUMA)
    invalid = (visible < 0.012) & (raster.depth > 25) & ~sky[..., 0]
    gain = np.clip(_uniform(rng, p.exposure) / max(float((night @ _LUMA).mean()), 1e-6),
                   1.0, p.max_gain)
    return night * gain, invalid
