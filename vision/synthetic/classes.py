"""The object classes the detector learns, in one place: their order is the class index of every label file,
and the same list becomes the model manifest's class names."""

from __future__ import annotations

from enum import IntEnum


class SceneClass(IntEnum):
    """A detectable object; the value is the YOLO class index."""

    STALL = 0  # a street stall: cart, table, umbrella or ground mat with goods (无序设摊)
    GOODS = 1  # a shop's goods, racks or boxes set out beyond its door (跨门经营)
    PERSON = 2
    VEHICLE = 3  # car, van or truck
    DUST = 4  # a dust plume (扬尘)
    BARE_PILE = 5  # uncovered soil or muck pile (裸土 / 渣土)
    COVERED_PILE = 6  # a pile under green dust-proof netting (防尘网覆盖)

    @property
    def label(self) -> str:
        return self.name.lower()


CLASS_NAMES: tuple[str, ...] = tuple(member.label for member in SceneClass)
