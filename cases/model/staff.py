"""Who acts: staff roles, and the actor of each recorded step."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"  # 指挥中心值班员: reviews detections
    OFFICER = "officer"  # 办案人员: drives cases
    LEGAL_REVIEWER = "legal_reviewer"  # 法制审核人员: approves decisions
    SUPERVISOR = "supervisor"  # 科室负责人: reads everything, watches deadlines
    ADMIN = "admin"  # maintains registries, users and gateways
    MODEL_STEWARD = "model_steward"  # 模型管理员: trains, judges, promotes and rolls back detector models (issue 15)
    SYSTEM = "system"  # the service itself (the automatic re-check); no account may hold it
    PARTY = "party"  # the party (当事人) on the public party page; no account may hold it


NOT_STAFF = frozenset({Role.SYSTEM, Role.PARTY})  # roles the record knows that no staff account may hold


@dataclass(frozen=True)
class Act:
    """Who does something, in which role, and when: the instant (UTC) and the local calendar day."""

    actor: str
    role: Role
    at: dt.datetime
    today: dt.date

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("an act's time must carry a time zone")
