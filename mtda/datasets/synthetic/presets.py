"""Each domain's street layout: the :class:`~.scene.SceneParams` of GTA, SYNTHIA, Cityscapes, IDD,
ACDC and Dark Zurich (camera, road, verges, furniture, traffic), and the classes each cycles through
its frames (``featured``) so that even small splits contain every class.
"""
from .scene import SceneParams

_SOURCE_FEATURES = ('train', 'truck', 'bus', 'motorcycle', 'bicycle', 'traffic light', 'wall',
                    'fence', 'terrain', 'rider', 'traffic sign', 'person')
_TARGET_FEATURES = ('bus', 'truck', 'motorcycle', 'train', 'bicycle', 'traffic light', 'wall',
                    'fence', 'terrain', 'rider')

GTA = SceneParams(
    focal=(0.85, 1.0), mount_height=(1.3, 1.9), horizon=(0.4, 0.5), lane_markings=0.9,
    sidewalk=0.85, terrain=0.5, base='sidewalk', trees=(2, 7), wall=0.35, fence=0.4,
    guard_rail=0.2, poles=(2, 6), pole_sign=0.6, pole_light=0.45, cars=(2, 7), trucks=(0, 2),
    buses=(0, 1), train=0.2, persons=(1, 5), cyclists=(0, 2), motorcyclists=(0, 2),
    featured=_SOURCE_FEATURES)

# SYNTHIA-RAND: a camera placed high and tilted down, many pedestrians, wide pavements, and no
# terrain, trucks or trains anywhere in the data.
SYNTHIA = SceneParams(
    focal=(0.8, 0.95), mount_height=(2.0, 5.0), horizon=(0.25, 0.4), lane_markings=0.9,
    crosswalk=0.4, sidewalk=1.0, sidewalk_width=(3.0, 8.0), terrain=0.0, base='sidewalk',
    trees=(1, 5), wall=0.3, fence=0.3, poles=(2, 6), pole_light=0.5, cars=(2, 8), trucks=(0, 0),
    buses=(0, 1), train=0.0, persons=(3, 10), persons_on_road=0.2, cyclists=(0, 2),
    motorcyclists=(0, 2), featured=tuple(c for c in _SOURCE_FEATURES
                                         if c not in ('terrain', 'truck', 'train')),
    forbidden=('terrain', 'truck', 'train'))

CITYSCAPES = SceneParams(
    focal=(1.05, 1.15), mount_height=(1.15, 1.3), horizon=(0.4, 0.46), lanes=(1, 3),
    lane_markings=0.6, parking=0.3, sidewalk=0.95, sidewalk_width=(3.0, 6.0), terrain=0.35,
    base='sidewalk', setback=(0.0, 1.5),
    trees=(1, 5), buildings=0.95, building_height=(10.0, 22.0), wall=0.2, fence=0.3, poles=(3, 8),
    pole_sign=0.6, pole_light=0.35, cars=(3, 9), parked=0.55, trucks=(0, 1), buses=(0, 1),
    train=0.08, persons=(1, 6), cyclists=(0, 2), motorcyclists=(0, 1), parked_bicycles=(0, 3),
    ego_vehicle=1.0, ego_height=(0.12, 0.16), featured=_TARGET_FEATURES)

# India: left-hand traffic, ragged unpaved edges with mud and dirt instead of pavements, crowds on
# the road, many motorcycles and autorickshaws, animals, low colourful buildings and billboards.
IDD = SceneParams(
    focal=(0.9, 1.05), mount_height=(1.3, 1.6), horizon=(0.4, 0.5), lanes=(1, 3),
    left_hand_traffic=True, lane_markings=0.15, crosswalk=0.02, edge_jitter=0.6, parking=0.05,
    curb=0.3, mud=0.8, sidewalk=0.15, terrain=0.9, terrain_width=(2.0, 8.0), base='terrain',
    buildings=0.7, building_height=(4.0, 14.0), building_gap=0.25, wall=0.5, fence=0.15,
    hedge=0.1, billboard=0.5, trees=(1, 6), skyline=('fallback background', 'vegetation',
                                                      'building'),
    poles=(1, 5), pole_sign=0.3, pole_light=0.1, pole_lamp=0.3, polegroup=0.4, mast_light=0.05,
    cars=(1, 5), parked=0.2, trucks=(0, 2), buses=(0, 2), train=0.03, persons=(2, 8),
    persons_on_road=0.5, cyclists=(0, 2), motorcyclists=(1, 4), parked_motorcycles=(0, 2),
    autorickshaws=(1, 3), animals=(0, 2), vehicle_fallback=(0, 1), ego_vehicle=0.4,
    featured=_TARGET_FEATURES + ('animal', 'polegroup', 'autorickshaw'))

# ACDC and Dark Zurich: a GoPro (wide angle) on a car in and around Zurich.
ACDC = SceneParams(
    focal=(0.6, 0.75), mount_height=(1.3, 1.5), horizon=(0.45, 0.55), lanes=(1, 3),
    lane_markings=0.7, sidewalk=0.7, terrain=0.55, base='terrain', trees=(2, 7), buildings=0.7,
    building_height=(8.0, 20.0), wall=0.2, fence=0.35, guard_rail=0.15, poles=(2, 7),
    pole_lamp=0.5, cars=(1, 6), trucks=(0, 1), buses=(0, 1), train=0.08, persons=(0, 4),
    cyclists=(0, 1), motorcyclists=(0, 1), featured=_TARGET_FEATURES)

DARK_ZURICH = SceneParams(
    focal=(0.6, 0.75), mount_height=(1.3, 1.5), horizon=(0.45, 0.55), lanes=(1, 2),
    lane_markings=0.7, sidewalk=0.9, terrain=0.3, base='sidewalk', setback=(0.0, 1.5),
    trees=(1, 5), buildings=0.95,
    building_height=(10.0, 22.0), wall=0.25, fence=0.3, poles=(3, 8), pole_lamp=0.75,
    pole_light=0.35, cars=(2, 7), parked=0.6, trucks=(0, 1), buses=(0, 1), train=0.1,
    persons=(0, 4), cyclists=(0, 1), motorcyclists=(0, 1), parked_bicycles=(0, 2),
    featured=_TARGET_FEATURES)

PRESETS = {'gta': GTA, 'synthia': SYNTHIA, 'cityscapes': CITYSCAPES, 'idd': IDD, 'acdc': ACDC,
           'dark_zurich': DARK_ZURICH}
