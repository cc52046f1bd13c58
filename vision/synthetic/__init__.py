"""The project's own labelled data: street scenes from a fixed camera, rendered with OpenCV and numpy, written as
YOLO datasets (``write_dataset``) and as H.264 videos with a ground-truth timeline (``render_video``).

No downloaded weights or datasets: everything the detector learns from is made here, from a seed.
"""

from vision.synthetic.classes import CLASS_NAMES, SceneClass
from vision.synthetic.dataset import DatasetSpec, DatasetSummary, write_dataset
from vision.synthetic.errors import SyntheticInputError
from vision.synthetic.scene import Label, RenderedFrame, render_still
from vision.synthetic.video import REVISION, SCENARIOS, VideoSpec, VideoSummary, render_video

__all__ = [
    "CLASS_NAMES",
    "REVISION",
    "SCENARIOS",
    "DatasetSpec",
    "DatasetSummary",
    "Label",
    "RenderedFrame",
    "SceneClass",
    "SyntheticInputError",
    "VideoSpec",
    "VideoSummary",
    "render_still",
    "render_video",
    "write_dataset",
]
