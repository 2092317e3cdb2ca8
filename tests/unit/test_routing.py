"""Routing by type (seed 001 第九条), pure: the category map, the route guards of the lifecycle,
转阅, the 当日交办 moment, group-post titles and the interim report's 回复建议."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.deadlines import OfficeHours, same_day_deadline
from bot.domain.lifecycle import (
    Actor,
    AssignInput,
    CaseFacts,
    CourtesyInput,
    InterimInput,
    PublishInput,
    RouteInput,
    TransferInput,
    WorkflowError,
    decide,
    precheck,
    split_interim,
)
from bot.domain.routing import (
    DEFAULT_ROUTES,
    DEFAULT_TRANSFERS,
    check_forward,
    parse_route,
    route_for,
    title_hidden,
)
from bot.domain.states import Action, ReplyMode, Role, Route, State
from bot.domain.workcalendar import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=SH)
DISPATCHER = Actor("钱登记", frozenset({Role.DISPATCHER}), person_id=4)
SUPERVISOR = Actor("孙督查", frozenset({Role.SUPERVISOR}), person_id=5)
HANDLER = Actor("张三", frozenset({Role.HANDLER}), frozenset({7}), 1)


def test_the_defaults_follow_the_clause() -> None:
    routes, transfers = DEFAULT_ROUTES, DEFAULT_TRANSFERS
    assert route_for("欠薪欠资", routes, transfers).route is Route.HANDLE  # 信访类
    assert route_for("建议", routes, transfers).route is Route.COURTESY
    assert route_for("政策咨询", routes, transfers).route is Route.COURTESY
    legal = route_for("涉法涉诉", routes, transfers)
    assert (legal.route, legal.destination) == (Route.TRANSFER, "政法部门") and "转政法部门办理" in legal.note
    party = route_for("党风廉政", routes, transfers)
    assert party.destination == "区纪检委" and "转区纪检委阅处，不再专门办理" in party.note
    assert route_for(None, routes, transfers).route is Route.HANDLE
    # a unit named at registration: handled by it
    assert route_for("涉法涉诉", routes, transfers, unit_named=True).route is Route.HANDLE
    # a transfer category without a configured 去向
    other = route_for("其他", {"其他": Route.TRANSFER}, {})
    assert other.destination == "有关部门" and other.note


@pytest.mark.parametrize(
    ("text", "route"),
    [("handle", Route.HANDLE), ("办理", Route.HANDLE), ("礼节性回复", Route.COURTESY), ("转办", Route.TRANSFER)],
)
def test_parse_route(text: str, route: Route) -> None:
    assert parse_route(text) is route


def test_parse_route_refuses_unknown() -> None:
    with pytest.raises(ValueError, match="未知办理方式"):
        parse_route("elsewhere")


def test_only_a_handled_case_is_assigned() -> None:
    for route in (Route.COURTESY, Route.TRANSFER):
        facts = CaseFacts(State.REGISTERED, route=route)
        with pytest.raises(WorkflowError) as err:
            decide(facts, Action.ASSIGN, DISPATCHER, AssignInput(7), NOW)
        assert err.value.code == "wrong_route" and "改为办理" in err.value.message
        refusal = precheck(facts, Action.ASSIGN, DISPATCHER, NOW)  # said before asking for a unit
        assert refusal is not None and refusal.code == "wrong_route"
    decide(CaseFacts(State.REGISTERED), Action.ASSIGN, DISPATCHER, AssignInput(7), NOW)


def test_only_a_courtesy_case_gets_a_courtesy_reply() -> None:
    text = CourtesyInput("感谢您对我区发展的关心，您的建议已转有关部门研究参考。")
    with pytest.raises(WorkflowError) as err:
        decide(CaseFacts(State.REGISTERED), Action.COURTESY_REPLY, SUPERVISOR, text, NOW)
    assert err.value.code == "wrong_route" and "改为礼节性回复" in err.value.message
    decision = decide(CaseFacts(State.REGISTERED, route=Route.COURTESY), Action.COURTESY_REPLY, SUPERVISOR, text, NOW)
    assert decision.to_state is State.APPROVED
    with pytest.raises(WorkflowError) as err:
        decide(
            CaseFacts(State.REGISTERED, route=Route.COURTESY),
            Action.COURTESY_REPLY,
            SUPERVISOR,
            CourtesyInput("好的"),
            NOW,
        )
    assert err.value.field == "text"
    with pytest.raises(WorkflowError) as err:
        decide(CaseFacts(State.REGISTERED, route=Route.COURTESY), Action.COURTESY_REPLY, DISPATCHER, text, NOW)
    assert err.value.code == "forbidden"


def test_a_published_courtesy_reply_closes_the_case() -> None:
    publish = PublishInput(ReplyMode.PUBLIC)
    courtesy = decide(CaseFacts(State.APPROVED, route=Route.COURTESY), Action.PUBLISH, DISPATCHER, publish, NOW)
    handled = decide(CaseFacts(State.APPROVED, unit_id=7), Action.PUBLISH, DISPATCHER, publish, NOW)
    assert (courtesy.to_state, handled.to_state) == (State.CLOSED, State.REPLIED)


def test_a_transfer_records_where_and_why() -> None:
    for source in (State.REGISTERED, State.ASSIGNED, State.RETURNED, State.ACCEPTED, State.EXTENSION_REQUESTED):
        decision = decide(
            CaseFacts(source, unit_id=7),
            Action.TRANSFER,
            SUPERVISOR,
            TransferInput("政法部门", "涉诉，转政法部门"),
            NOW,
        )
        assert decision.to_state is State.TRANSFERRED
        assert decision.data == {"route": "transfer", "destination": "政法部门", "from_unit_id": 7}
        assert decision.comment == "涉诉，转政法部门"
    for bad, field in (
        (TransferInput("", "涉诉，转政法部门"), "destination"),
        (TransferInput("政法部门", "转"), "note"),
    ):
        with pytest.raises(WorkflowError) as err:
            decide(CaseFacts(State.REGISTERED), Action.TRANSFER, SUPERVISOR, bad, NOW)
        assert err.value.field == field
    with pytest.raises(WorkflowError) as err:  # the unit has reported: too late to transfer
        decide(
            CaseFacts(State.SUBMITTED), Action.TRANSFER, SUPERVISOR, TransferInput("政法部门", "涉诉，转政法部门"), NOW
        )
    assert err.value.code == "wrong_state"
    with pytest.raises(WorkflowError) as err:
        decide(
            CaseFacts(State.ASSIGNED, unit_id=7), Action.TRANSFER, HANDLER, TransferInput("政法部门", "不归我们管"), NOW
        )
    assert err.value.code == "forbidden"


def test_a_route_change_needs_a_new_route_and_a_reason() -> None:
    facts = CaseFacts(State.REGISTERED, route=Route.COURTESY)
    decision = decide(facts, Action.REROUTE, DISPATCHER, RouteInput(Route.HANDLE, "需由承办单位核实"), NOW)
    assert (decision.to_state, decision.data, decision.comment) == (
        State.REGISTERED,
        {"route": "handle"},
        "需由承办单位核实",
    )
    refused = [
        (RouteInput(Route.COURTESY, "需由督查室回复"), "no_change"),
        (RouteInput(Route.HANDLE, " "), "missing_input"),
        (RouteInput(Route.TRANSFER, "涉诉，转政法部门"), "bad_input"),
    ]
    for data, code in refused:
        with pytest.raises(WorkflowError) as err:
            decide(facts, Action.REROUTE, DISPATCHER, data, NOW)
        assert err.value.code == code, data
    # from 已转办 the same route as before the transfer is a change
    back = decide(
        CaseFacts(State.TRANSFERRED, route=Route.TRANSFER),
        Action.REROUTE,
        SUPERVISOR,
        RouteInput(Route.HANDLE, "不涉诉讼"),
        NOW,
    )
    assert back.to_state is State.REGISTERED
    with pytest.raises(WorkflowError) as err:  # signed for: the unit works on it
        decide(
            CaseFacts(State.ACCEPTED, unit_id=7),
            Action.REROUTE,
            DISPATCHER,
            RouteInput(Route.COURTESY, "属建议类"),
            NOW,
        )
    assert err.value.code == "wrong_state"


def test_forward_only_a_courtesy_case_by_the_supervisor() -> None:
    assert check_forward(Route.COURTESY, State.REGISTERED, frozenset({Role.SUPERVISOR}), " 供参考 ") == "供参考"
    assert check_forward(Route.COURTESY, State.CLOSED, frozenset({Role.ADMIN}), "") == ""
    for route, state, roles, code in (
        (Route.COURTESY, State.REGISTERED, frozenset({Role.DISPATCHER}), "forbidden"),
        (Route.HANDLE, State.REGISTERED, frozenset({Role.SUPERVISOR}), "wrong_route"),
        (Route.COURTESY, State.VOIDED, frozenset({Role.SUPERVISOR}), "wrong_state"),
    ):
        with pytest.raises(WorkflowError) as err:
            check_forward(route, state, roles, "供参考")
        assert err.value.code == code


def test_same_day_deadline() -> None:
    cal, hours = WorkCalendar(), OfficeHours()
    at = same_day_deadline
    assert at(datetime(2026, 11, 2, 9, 0, tzinfo=SH), cal, hours) == datetime(2026, 11, 2, 17, 30, tzinfo=SH)
    assert at(datetime(2026, 11, 2, 17, 30, tzinfo=SH), cal, hours) == datetime(2026, 11, 3, 17, 30, tzinfo=SH)
    # Friday evening and Saturday: Monday's close
    assert at(datetime(2026, 11, 6, 18, 0, tzinfo=SH), cal, hours) == datetime(2026, 11, 9, 17, 30, tzinfo=SH)
    assert at(datetime(2026, 11, 7, 10, 0, tzinfo=SH), cal, hours) == datetime(2026, 11, 9, 17, 30, tzinfo=SH)


def test_titles_of_transferred_cases_stay_out_of_groups() -> None:
    hidden = frozenset({"党风廉政"})
    assert title_hidden("党风廉政", "handle", hidden)
    assert title_hidden("城市管理", "transfer", hidden)
    assert not title_hidden("城市管理", "handle", hidden) and not title_hidden(None, "courtesy", hidden)


def test_split_interim() -> None:
    assert split_interim("已完成调查，正在协调。回复建议：拟答复月底前解决") == InterimInput(
        "已完成调查，正在协调", "拟答复月底前解决"
    )
    assert split_interim("已完成调查 回复建议:拟答复") == InterimInput("已完成调查", "拟答复")
    assert split_interim("只有情况") == InterimInput("只有情况", "")


def test_the_interim_report_needs_a_proposed_reply() -> None:
    facts = CaseFacts(State.ACCEPTED, unit_id=7)
    with pytest.raises(WorkflowError) as err:
        decide(facts, Action.INTERIM_REPORT, HANDLER, InterimInput("已完成现场调查，正在协调资金。", ""), NOW)
    assert err.value.field == "proposal" and "回复建议" in err.value.message
    done = decide(
        facts, Action.INTERIM_REPORT, HANDLER, InterimInput("已完成现场调查，正在协调资金。", "拟答复月底前支付"), NOW
    )
    assert (done.comment, done.data) == ("已完成现场调查，正在协调资金。", {"proposal": "拟答复月底前支付"})


def test_the_routing_config() -> None:
    from bot.config import ConfigError, parse_config

    config = parse_config("")
    assert config.routing.routes == DEFAULT_ROUTES
    assert config.routing.transfers()["党风廉政"] == DEFAULT_TRANSFERS["党风廉政"]
    custom = parse_config(
        '[routing]\nroutes = { "建议" = "handle", "其他" = "transfer" }\ntransfer_to = { "其他" = "区公安分局" }'
    )
    assert custom.routing.routes == {"建议": Route.HANDLE, "其他": Route.TRANSFER}
    assert custom.routing.transfers()["其他"] == ("区公安分局", "")
    with pytest.raises(ConfigError, match="routing.routes.不存在的类型"):
        parse_config('[routing]\nroutes = { "不存在的类型" = "courtesy" }')
    with pytest.raises(ConfigError, match="routing.routes"):
        parse_config('[routing]\nroutes = { "建议" = "elsewhere" }')
