"""A case step is one typed command with one handler (issue 16): the console's form and the JSON API's body become
the same ``cases.commands`` command, which ``CaseService.handle`` takes, checking the step's role first. On SQLite
and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from fastapi.testclient import TestClient

from api.console.cases import STEP_PERMISSIONS, STEPS
from api.roles import Permission, allows
from cases import commands
from cases.clock import ManualClock
from cases.errors import IllegalTransition
from cases.model.case import DeliveryMethod, RecheckOutcome
from cases.model.staff import Role
from cases.services.base import Actor
from offsite.bootstrap import Components
from tests.integration.conftest import Staff
from tests.integration.test_console import csrf, sign_in
from tests.integration.world import OFFICER, World

TODAY = dt.date(2026, 3, 2)


def test_every_step_the_console_offers_is_a_command_and_every_command_is_offered() -> None:
    assert set(STEPS) == set(commands.COMMANDS)
    for action, step in STEPS.items():
        assert step.kind is commands.COMMANDS[action]
        assert step.kind.action == action
        # the console asks for the permission that the command's role holds, and only that role holds it
        permission = STEP_PERMISSIONS.get(step.role, Permission.HANDLE_CASES)
        assert allows(step.role, permission)
        assert [role for role in Role if allows(role, permission)] == [step.role]


def test_a_typed_form_becomes_its_command_with_today_where_a_day_is_left_empty() -> None:
    payment = STEPS["record_payment"].command(7, 3, {"amount": "200.50", "paid_on": ""}, TODAY)
    assert payment == commands.RecordPayment(7, 3, amount_fen=20050, paid_on=TODAY)
    recheck = STEPS["record_recheck"].command(
        7, 3, {"outcome": "corrected", "observed_on": "", "note": "已撤摊"}, TODAY
    )
    assert recheck == commands.RecordRecheck(7, 3, RecheckOutcome.CORRECTED, TODAY, None, "已撤摊")
    closing = STEPS["close"].command(7, 3, {"reason": ""}, TODAY)
    assert closing == commands.CloseCase(7, 3, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        closing.reason = "changed"  # type: ignore[misc]


def test_the_handler_takes_the_steps_and_records_each_under_its_command_s_action(
    world: World, components: Components, clock: ManualClock
) -> None:
    cases = components.cases
    case = world.draft("cross_door")
    case = cases.handle(commands.FileCase(case.id or 0, case.version), OFFICER)
    notice = commands.IssueRectificationNotice(case.id or 0, case.version, DeliveryMethod.DIRECT)
    case = cases.handle(notice, OFFICER)
    clock.advance(dt.timedelta(days=2))
    recheck = commands.RecordRecheck(
        case.id or 0, case.version, RecheckOutcome.CORRECTED, clock.today(), None, "已改正"
    )
    case = cases.handle(recheck, OFFICER)
    assert [e.action for e in case.events][-3:] == ["file", "issue_rectification_notice", "record_recheck"]
    assert case.recheck_outcome is RecheckOutcome.CORRECTED


def test_a_step_asked_by_a_role_that_does_not_take_it_is_refused_in_chinese_and_changes_nothing(
    world: World, components: Components
) -> None:
    case = world.draft("cross_door")
    case = components.cases.handle(commands.FileCase(case.id or 0, case.version), OFFICER)
    with pytest.raises(IllegalTransition) as refused:
        components.cases.handle(commands.ApproveLegalReview(case.id or 0, case.version, "同意"), OFFICER)
    assert refused.value.told("zh_CN") == "“法制审核通过”须由法制审核人员办理"
    assert refused.value.told("en").startswith("the step ")
    head = Actor("head1", Role.SUPERVISOR)
    with pytest.raises(IllegalTransition):
        components.cases.handle(commands.Withdraw(case.id or 0, case.version, "不立案"), head)
    assert components.cases.get(case.id or 0).version == case.version


def test_the_console_and_the_json_api_take_the_same_step_through_the_same_handler(
    client: TestClient, world: World, components: Components, staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled: list[tuple[commands.CaseStep, str]] = []
    handle = components.cases.handle

    def recorded(command: commands.CaseCommand, actor: Actor) -> object:
        handled.append((command, actor.username))
        return handle(command, actor)

    monkeypatch.setattr(components.cases, "handle", recorded)
    by_api, by_console = world.draft("cross_door"), world.draft("stall")
    response = client.post(f"/api/v1/cases/{by_api.id}/file", json={"version": by_api.version},
                           headers=staff.headers(Role.OFFICER))  # fmt: skip
    assert response.status_code == 200, response.text
    sign_in(client, components, Role.OFFICER)
    page = client.get(f"/console/cases/{by_console.id}").text
    client.post(f"/console/cases/{by_console.id}/steps/file", data={"csrf": csrf(page), "version": by_console.version})
    assert [type(command) for command, _who in handled] == [commands.FileCase, commands.FileCase]
    assert [command.case_id for command, _who in handled] == [by_api.id, by_console.id]
    assert components.cases.get(by_console.id or 0).number is not None
