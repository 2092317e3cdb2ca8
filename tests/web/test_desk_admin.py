"""管理 on the desk (issue 15): an admin adds and changes units and people, gives and takes roles and
(de)activates people through the directory's own use cases, on SQLite and PostgreSQL. Refusals
say why and change nothing; only an admin may post these forms, and only with the page's token."""

from __future__ import annotations

from store import directory
from store.listings import people_with_roles
from tests.web.conftest import Desk

ADMIN = "/desk/admin"


async def _people(desk: Desk) -> dict[str, tuple[bool, list[tuple[str, str]], str | None]]:
    async with desk.runtime.deps.read_sessions() as session:
        return {p.name: (p.active, p.roles, p.wecom_userid) for p in await people_with_roles(session)}


async def _person_id(desk: Desk, name: str) -> int:
    async with desk.runtime.deps.read_sessions() as session:
        (person,) = await directory.person_by_name(session, name)
        return person.id


async def test_admin_adds_a_unit_and_a_handler_who_then_gets_its_cases(desk: Desk) -> None:
    admin = await desk.sign_in("wu")
    unit = {"name": "区教育局", "code": "教育", "wecom_chatid": "wrOgQhDgAAedu", "dingtalk_conversation_id": ""}
    status, location, _ = await desk.post(admin, ADMIN, "/desk/admin/units", unit)
    assert (status, location) == (303, "/desk/admin?done=unit")
    member = {"name": "郑老师", "wecom_userid": "zhengls", "dingtalk_userid": "", "role": "handler", "unit": "区教育局"}
    status, location, _ = await desk.post(admin, ADMIN, "/desk/admin/people", member)
    assert (status, location) == (303, "/desk/admin?done=member")
    status, html = await desk.page(admin, "/desk/admin?done=member")
    assert status == 200 and "人员已保存。" in html
    block = html[html.index('data-unit="区教育局"') :]
    assert "郑老师（承办人）" in block[: block.index("</div>")] and "wrOgQhDgAAedu" in block
    assert (await _people(desk))["郑老师"] == (True, [("handler", "区教育局")], "zhengls")
    async with desk.runtime.deps.read_sessions() as session:
        found = await directory.unit_by_name(session, "区教育局")
        assert found is not None and found.code == "教育"
        assert [p.name for p, _ in await directory.members_of(session, found.id)] == ["郑老师"]
    # the short name routes: the dispatcher's 登记 lists the new unit
    dispatcher = await desk.sign_in("qian")
    assert "区教育局" in (await desk.page(dispatcher, "/desk/register"))[1]


async def test_refusals_say_why_and_change_nothing(desk: Desk) -> None:
    admin = await desk.sign_in("wu")
    before = await _people(desk)
    # a short name that is another unit's name
    status, _, html = await desk.post(admin, ADMIN, "/desk/admin/units", {"name": "区教育局", "code": "区人社局"})
    assert status == 422 and "简称不能重复" in html and 'value="区教育局"' in html
    # an id that is someone else's: the form's box, not the CLI's flag, is named
    taken = {"name": "张小三", "wecom_userid": "zhangsan", "role": ""}
    status, _, html = await desk.post(admin, ADMIN, "/desk/admin/people", taken)
    assert status == 422 and "请勾选“改名”" in html and "--rename" not in html
    # a unit's role without a unit, an unknown role, an over-long name
    no_unit = {"name": "郑老师", "wecom_userid": "zhengls", "role": "handler", "unit": ""}
    status, _, html = await desk.post(admin, ADMIN, "/desk/admin/people", no_unit)
    assert status == 422 and "承办人须指定所属单位" in html
    status, _, html = await desk.post(admin, ADMIN, "/desk/admin/people", {"name": "郑老师", "role": "system"})
    assert status == 422 and "未知角色" in html
    status, _, html = await desk.post(admin, ADMIN, "/desk/admin/people", {"name": "郑" * 101, "role": ""})
    assert status == 422 and "最多100字" in html
    assert await _people(desk) == before
    async with desk.runtime.deps.read_sessions() as session:
        assert await directory.unit_by_name(session, "区教育局") is None
    # with the box ticked, the id's owner is renamed
    status, _, _ = await desk.post(admin, ADMIN, "/desk/admin/people", {**taken, "rename": "1"})
    assert status == 303
    assert "张小三" in await _people(desk) and "张三" not in await _people(desk)


async def test_roles_are_taken_and_people_deactivated(desk: Desk) -> None:
    admin = await desk.sign_in("wu")
    handler = await desk.sign_in("zhang")
    zhang = await _person_id(desk, "张三")
    revoke = f"/desk/admin/people/{zhang}/revoke"
    status, _, _ = await desk.post(admin, ADMIN, revoke, {"role": "handler", "unit": "区人社局"})
    assert status == 303 and (await _people(desk))["张三"][1] == []
    status, _, html = await desk.post(admin, ADMIN, revoke, {"role": "handler", "unit": "区人社局"})
    assert status == 422 and "张三没有这个角色" in html
    # 停用: the person's desk session ends at once
    assert (await desk.page(handler, "/desk/"))[0] == 200
    status, location, _ = await desk.post(admin, ADMIN, f"/desk/admin/people/{zhang}/active", {"active": "0"})
    assert (status, location) == (303, "/desk/admin?done=deactivate")
    assert (await _people(desk))["张三"][0] is False
    status, html = await desk.page(handler, "/desk/")
    assert status == 303
    status, _, _ = await desk.post(admin, ADMIN, f"/desk/admin/people/{zhang}/active", {"active": "1"})
    assert status == 303 and (await _people(desk))["张三"][0] is True
    # an admin cannot lock themselves out; an unknown person is a 404
    wu = await _person_id(desk, "吴管理")
    status, _, html = await desk.post(admin, ADMIN, f"/desk/admin/people/{wu}/active", {"active": "0"})
    assert status == 422 and "不能停用自己" in html and (await _people(desk))["吴管理"][0] is True
    status, _, html = await desk.post(admin, ADMIN, f"/desk/admin/people/{wu}/revoke", {"role": "admin"})
    assert (
        status == 422 and "不能撤销自己的管理员角色" in html and (await _people(desk))["吴管理"][1] == [("admin", "")]
    )
    status, _, _ = await desk.post(admin, ADMIN, "/desk/admin/people/99999/active", {"active": "0"})
    assert status == 404


async def test_only_an_admin_with_the_pages_token_may_change_the_directory(desk: Desk) -> None:
    before = await _people(desk)
    dispatcher = await desk.sign_in("qian")
    member = {"name": "钱登记", "wecom_userid": "qiandj", "role": "admin"}
    status, _, html = await desk.post(dispatcher, "/desk/", "/desk/admin/people", member)
    assert status == 403 and "仅限管理员" in html
    qian = await _person_id(desk, "钱登记")
    status, _, _ = await desk.post(dispatcher, "/desk/", f"/desk/admin/people/{qian}/revoke", {"role": "dispatcher"})
    assert status == 403
    admin = await desk.sign_in("wu")
    async with admin.post("/desk/admin/people", data=member, allow_redirects=False) as r:
        assert r.status == 403  # no form token
    assert await _people(desk) == before
