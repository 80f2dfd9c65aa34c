"""Lays out one street scene: the road's cross-section, then every object, back to front.

:func:`generate_scene` samples the camera and the cross-section (:mod:`.scene`), then calls the
drawers of :mod:`.objects` in drawing order: sky -> skyline -> ground plane -> verges (sidewalk,
terrain, curb, mud, parking) -> road -> markings and rail track -> buildings -> roadside
structures -> upright things far to near -> ego vehicle.
"""
from typing import Optional

import numpy as np

from . import objects
from .scene import (FAR_DEPTH, Scene, SceneBuilder, SceneParams, chance, cross_section,
                    sample_camera, sample_uniform)


def generate_scene(params: SceneParams, *, width: int, height: int, rng: np.random.Generator,
                   dynamic_rng: Optional[np.random.Generator] = None,
                   featured: Optional[str] = None) -> Scene:
    """Lay out one street scene.

    Args:
        params: The domain's layout parameters.
        width: Image width in pixels.
        height: Image height in pixels.
        rng: Randomness for the camera and everything static (road, buildings, poles, trees).
        dynamic_rng: Randomness for traffic and people; defaults to ``rng``. Two scenes with the
            same ``rng`` state and different ``dynamic_rng`` show the same place with other road
            users, like ACDC's and Dark Zurich's reference images.
        featured: A canonical class this frame must contain (see :attr:`SceneParams.featured`).

    Returns:
        The scene, its polygons back to front.
    """
    dynamic_rng = rng if dynamic_rng is None else dynamic_rng
    camera = sample_camera(params, width=width, height=height, rng=rng)
    builder = SceneBuilder(camera)
    ragged = params.edge_jitter > 0
    near = camera.depth_of_row(height * 1.8)
    depths = np.geomspace(near, FAR_DEPTH, 12 if ragged else 2)
    lanes, lane_width, centre, road_width, sides = cross_section(params, rng, depths, featured)
    ego_rows = (sample_uniform(rng, params.ego_height) * height
                if chance(rng, params.ego_vehicle) else 0)
    nearest = camera.depth_of_row(height - 1 - ego_rows)
    context = objects.DrawContext(params, camera, builder, sides, centre, road_width, lanes,
                                  lane_width, nearest, featured)

    objects.sky_and_skyline(context, rng)
    builder.image_polygon(params.base, [(0, camera.horizon), (width - 1, camera.horizon),
                                        (width - 1, height - 1), (0, height - 1)],
                          depth_kind='ground', depth_value=0.0)
    for side in sides:
        for label, inner, outer in side.bands:
            builder.ground(label, depths, inner, outer)
    builder.ground('road', depths, sides[0].road_edge, sides[1].road_edge)
    objects.markings(context, rng)
    train_depth = objects.rail_track(context, rng)
    items = []  # (depth, draw) for upright things, drawn far to near
    objects.buildings(context, rng)
    objects.roadside(context, rng, items)
    objects.poles(context, rng, items)
    objects.traffic(context, dynamic_rng, items, train_depth)
    for _, draw in sorted(items, key=lambda item: -item[0]):
        draw()
    if ego_rows:
        objects.ego_vehicle(builder, width, height, ego_rows)
    return Scene(camera=camera, polygons=tuple(builder.polygons))
