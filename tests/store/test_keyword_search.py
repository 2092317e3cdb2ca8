"""The ledger's keyword search (store/search.py) on SQLite (through the bigram index) and on
PostgreSQL (LIKE): the same cases as a substring test of the title and the content, for
keywords of one, two and more characters, mixed with ASCII, found nowhere, and after a case's
text changed; whatever wrote the case (the API, a bulk load, a correction, the ORM directly)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.states import Role
from bot.domain.visibility import Viewer, list_scope
from bot.handlers.corrections import set_fields
from bot.handlers.deps import Deps
from bot.handlers.intake import register_case, validate_new_case
from bot.web.api import API_ACTOR
from store import cases as case_rows
from store import desk as desk_store
from store import repo, search
from store.dialect import is_postgres
from store.models import Case

OFFICE = list_scope(Viewer.of([Role.SUPERVISOR]))

TEXTS = [
    ("小区油烟污染", "楼下饭店油烟很大，晚上无法开窗。"),
    ("夜间施工噪音", "工地每天施工到凌晨，噪音扰民。"),
    ("WiFi信号差", "小区5G基站建设缓慢，wifi经常断。"),
    ("收费100%_问题", "物业费上涨100%，业主不满。"),
    ("油", "烟"),  # one character each: a text shorter than a bigram
    ("道路积水", "下雨后道路积水严重，Road flooding。"),
]
KEYWORDS = [
    "油",  # one character: LIKE alone
    "烟",
    "水",
    "油烟",  # two characters: the common case
    "噪音",
    "油烟污",
    "油烟污染",
    "施工噪音",
    "染楼",  # across the title and the content: in neither
    "wifi",  # ASCII, another case
    "WIFI信号",
    "5G基站",
    "g基",
    "road",
    "Road flooding",  # a space: LIKE alone
    "100%",  # a LIKE wildcard, taken literally
    "100%_",
    "不存在的词",
    "物业费上涨",
    "无法开窗。",  # a full-width full stop
]


def _contains(text: str | None, keyword: str, *, fold: bool) -> bool:
    """SQLite's LIKE ignores the case of ASCII letters; PostgreSQL's does not."""
    if text is None:
        return False
    if fold:
        table = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
        return keyword.translate(table) in text.translate(table)
    return keyword in text


async def _check(deps: Deps) -> None:
    """Every keyword finds exactly the cases whose title or content contains it, newest first,
    and nothing waits to be indexed after writes through the store."""
    async with deps.read_sessions() as session:
        postgres = is_postgres(session)
        everything, _ = await desk_store.ledger_page(session, OFFICE, desk_store.Ledger(limit=1000))
        for keyword in KEYWORDS:
            expected = [
                c.number
                for c in everything
                if _contains(c.title, keyword, fold=not postgres) or _contains(c.content, keyword, fold=not postgres)
            ]
            page, _ = await desk_store.ledger_page(session, OFFICE, desk_store.Ledger(keyword=keyword, limit=1000))
            assert [c.number for c in page] == expected, keyword
            count = await desk_store.ledger_count(session, OFFICE, desk_store.Ledger(keyword=keyword))
            assert count == len(expected), keyword


async def _register(deps: Deps, title: str, content: str) -> str:
    new = validate_new_case(
        {"title": title, "content": content, "unit": "区人社局"},
        now=deps.clock.now(),
        tz=deps.config.office.hours().tz,
        categories=[],
    )
    return (await register_case(deps, new, API_ACTOR)).case.number


def _row(deps: Deps, i: int, title: str, content: str) -> dict[str, object]:
    now = deps.clock.now()
    return {
        "number": f"BULK-{i:04d}",
        "version": 1,
        "state": "registered",
        "level": "县（区）级",
        "source": "人民网留言板",
        "source_ref": f"BULK-{i}",
        "title": title,
        "title_key": title,
        "content": content,
        "received_at": now - timedelta(days=i),
        "co_unit_ids": [],
        "complex": False,
        "urgent": False,
        "needs_leader": False,
        "extension_count": 0,
        "interim_count": 0,
        "created_at": now,
        "updated_at": now,
    }


async def test_the_keyword_finds_what_like_finds(deps: Deps) -> None:
    numbers = [await _register(deps, title, content) for title, content in TEXTS]
    async with deps.sessions() as session, session.begin():
        rows = [_row(deps, i, f"批量{title}", f"{content}（批量）") for i, (title, content) in enumerate(TEXTS)]
        await case_rows.add_cases_bulk(session, rows)
    async with deps.sessions() as session:
        assert await search.pending_count(session) == 0
    await _check(deps)

    # the text changes: the old words stop finding the case, the new ones find it
    await set_fields(deps, numbers[0], API_ACTOR, {"title": "道路破损"})
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, numbers[0])
        assert case is not None
        await case_rows.set_fields(session, case.id, content="井盖丢失，夜间行人容易跌倒")
    async with deps.sessions() as session:
        assert await search.pending_count(session) == 0
    async with deps.read_sessions() as session:
        for keyword, found in [("油烟污染", False), ("小区油烟", False), ("井盖", True), ("道路破损", True)]:
            page, _ = await desk_store.ledger_page(session, OFFICE, desk_store.Ledger(keyword=keyword))
            assert (numbers[0] in [c.number for c in page]) is found, keyword
    await _check(deps)


async def test_a_case_written_around_the_store_is_still_found(deps: Deps) -> None:
    """The triggers mark a case the store did not index (here: the ORM directly); until a write
    through the store indexes it, it is searched as a candidate, so no keyword misses it."""
    number = await _register(deps, "垃圾清运不及时", "小区垃圾堆积三天无人清运。")
    async with deps.sessions() as session, session.begin():
        session.add(Case(**{**_row(deps, 1, "油烟扰民", "饭店排烟管道直对住户窗户。"), "number": "ORM-0001"}))
    async with deps.sessions() as session:
        assert await search.pending_count(session) == (0 if is_postgres(session) else 1)
    await _check(deps)
    async with deps.read_sessions() as session:
        page, _ = await desk_store.ledger_page(session, OFFICE, desk_store.Ledger(keyword="排烟"))
        assert [c.number for c in page] == ["ORM-0001"]
    await _register(deps, "噪音", "广场舞噪音。")  # the next write through the store indexes it
    async with deps.sessions() as session:
        assert await search.pending_count(session) == 0
    await _check(deps)
    assert number


def test_the_phrase_of_a_keyword() -> None:
    assert search.bigrams("油烟污染") == "油烟 烟污 污染"
    assert search.bigrams("WiFi 信号") == "wi if fi 信号"  # a bigram with a space is left out
    assert search.bigrams("油") == "" and search.bigrams(None) == ""
    assert search.match_query("油烟污染") == '"油烟 烟污 污染"'
    assert search.match_query("WIFI信号") == '"wi if fi i信 信号"'
    assert search.match_query("油") is None  # one character: LIKE alone
    assert search.match_query("a b") is None and search.match_query('油"烟') is None
    assert search.match_query("100%") is None and search.match_query("油烟。") == '"油烟 烟。"'
