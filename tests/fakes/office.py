"""A whole office on a test bench: the bot (real HTTP app, real database) and fake platforms that
speak the real protocols. Tests act only as people would — real encrypted/signed callbacks in,
what the fake platforms received out — through one neutral API, so the same scenario runs on
WeCom and on DingTalk. Background work is stepped by hand (``settle``), never slept on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from bot.config import Config
from tests.conftest import SHANGHAI, make_config
from tests.fakes.fake_dingtalk import FakeDingTalk
from tests.fakes.fake_wecom import FakeWeCom
from tests.fakes.wecom_callbacks import CallbackRequest, WeComCallbacks

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
USERS = ("zhangsan", "limei", "wangkz", "zhaozj", "qiandj", "sundc", "zhousj", "wugl")
DING_TOKEN = "cb-token-0123456789abcdef"


@dataclass(frozen=True)
class SeenCard:
    """What one person sees of a card now, on either platform."""

    task_id: str
    buttons: list[str]
    closed: str | None
    text: str  # every visible text of the card, for "contains" checks
    url: str | None

    @property
    def clickable(self) -> bool:
        return self.closed is None and bool(self.buttons)


@dataclass(frozen=True)
class Request:
    """A callback as the platform would send it: POST path with headers and body."""

    path: str
    body: bytes
    headers: dict[str, str]


class Side(Protocol):
    platform: str

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    def configure(self, config: Config) -> None: ...
    def add_user(self, user: str) -> None: ...
    def cards(self, user: str) -> list[SeenCard]: ...
    def texts(self, user: str) -> list[str]: ...
    def group_posts(self) -> list[str]: ...
    def text_request(self, user: str, text: str) -> Request: ...
    def click_request(self, user: str, task_id: str, button: str) -> Request: ...
    def drops(self) -> list[Any]: ...
    def advance(self, seconds: float) -> None: ...


class WeComSide:
    platform = "wecom"

    def __init__(self, clock: ManualClock) -> None:
        self.fake = FakeWeCom(users=USERS)
        self.server = TestServer(self.fake.app())
        # the URL timestamp is WeCom's wall clock, which agrees with ours (the bot checks it)
        self.callbacks = WeComCallbacks(TOKEN, AES_KEY, self.fake.corp_id, agent_id=self.fake.agent_id, clock=clock)
        self.clock = clock

    def sync(self) -> None:
        """WeCom's clock agrees with ours (its duplicate check and rate limits count real time)."""
        self.fake.now = max(self.fake.now, self.clock.now().timestamp())

    async def start(self) -> None:
        await self.server.start_server()

    async def close(self) -> None:
        await self.server.close()

    def configure(self, config: Config) -> None:
        w = config.wecom
        w.enabled = True
        w.corp_id, w.agent_id, w.secret = self.fake.corp_id, self.fake.agent_id, self.fake.secret
        w.token, w.encoding_aes_key = TOKEN, AES_KEY
        w.api_base = str(self.server.make_url("")).rstrip("/")
        w.supervision_webhook_key = next(iter(self.fake.webhook_keys))

    def add_user(self, user: str) -> None:
        self.fake.add_user(user)

    def cards(self, user: str) -> list[SeenCard]:
        seen = []
        for m in self.fake.messages_to(user):
            if m.card is None:
                continue
            view = self.fake.card_state(user, m.card["task_id"])
            assert view is not None
            c = view.card
            texts = [c["main_title"].get("title", ""), c["main_title"].get("desc", ""), c.get("sub_title_text", "")]
            texts += [f"{i['keyname']}：{i['value']}" for i in c.get("horizontal_content_list", [])]
            seen.append(
                SeenCard(
                    view.task_id,
                    [b["text"] for b in c["button_list"]],
                    view.replace_name,
                    "\n".join(texts),
                    (c.get("card_action") or {}).get("url"),
                )
            )
        return seen

    def texts(self, user: str) -> list[str]:
        return [m.content or "" for m in self.fake.messages_to(user) if m.msgtype in ("text", "markdown")]

    def group_posts(self) -> list[str]:
        key = next(iter(self.fake.webhook_keys))
        return [m["markdown"]["content"] for m in self.fake.webhook_messages(key) if m.get("msgtype") == "markdown"]

    def _request(self, req: CallbackRequest) -> Request:
        return Request(req.path_qs(), req.body, {"Content-Type": "text/xml"})

    def text_request(self, user: str, text: str) -> Request:
        return self._request(self.callbacks.text(user, text))

    def click_request(self, user: str, task_id: str, button: str) -> Request:
        view = self.fake.card_state(user, task_id)
        assert view is not None, f"{user} has no card {task_id}"
        key = next(b["key"] for b in view.card["button_list"] if b["text"] == button)
        fields = self.fake.click(user, task_id, key)
        self.fake.advance(1)  # two clicks are never in the same second here
        return self._request(self.callbacks.from_fields(fields))

    def drops(self) -> list[Any]:
        return list(self.fake.drops)

    def advance(self, seconds: float) -> None:
        self.fake.advance(seconds)


class DingTalkSide:
    """DingTalk in HTTP mode (signed robot messages, token-guarded card callbacks)."""

    platform = "dingtalk"

    def __init__(self, clock: ManualClock) -> None:
        self.fake = FakeDingTalk(users=USERS)
        self.clock = clock
        self.base = ""
        self._last_ms = 0

    async def start(self) -> None:
        self.base = await self.fake.start()

    async def close(self) -> None:
        await self.fake.close()

    def configure(self, config: Config) -> None:
        d = config.dingtalk
        d.enabled, d.mode = True, "http"
        d.client_id, d.client_secret, d.robot_code = self.fake.client_id, self.fake.client_secret, self.fake.robot_code
        d.api_base = d.oapi_base = self.base
        d.stream_endpoint = self.fake.open_url
        from tests.fakes.fake_dingtalk import DEFAULT_TEMPLATE_ID

        d.card_template_id = DEFAULT_TEMPLATE_ID
        d.callback_token = DING_TOKEN
        robot = next(iter(self.fake.webhooks.values()))
        d.supervision_webhook = f"{self.base}/robot/send?access_token={robot.token}"
        d.supervision_webhook_secret = robot.secret or ""

    def add_user(self, user: str) -> None:
        self.fake.users.add(user)

    def sync(self) -> None:
        """DingTalk's clock agrees with ours (signatures carry millisecond timestamps)."""
        self.fake.now = max(self.fake.now, self.clock.now().timestamp())

    def cards(self, user: str) -> list[SeenCard]:
        seen = []
        for card in self.fake.cards_for(user):
            view = self.fake.card_state(user, card.out_track_id)
            assert view is not None
            d = view.data
            closed = d.get("status") or "closed" if d.get("closed") == "true" else None
            text = "\n".join(d.get(k, "") for k in ("title", "desc", "body", "fields"))
            seen.append(SeenCard(card.out_track_id, list(view.buttons.values()), closed, text, d.get("url") or None))
        return seen

    def texts(self, user: str) -> list[str]:
        return [m.text for m in self.fake.messages_to(user)]

    def group_posts(self) -> list[str]:
        robot = next(iter(self.fake.webhooks.values()))
        return [m["markdown"]["text"] for m in robot.messages if m.get("msgtype") == "markdown"]

    def text_request(self, user: str, text: str) -> Request:
        now_ms = int(self.clock.now().timestamp() * 1000)  # DingTalk's clock agrees with ours
        # DingTalk stamps each delivery when it sends it; under the frozen test clock successive
        # messages get successive milliseconds (a header pair is accepted once)
        self._last_ms = now_ms = max(now_ms, self._last_ms + 1)
        cb = self.fake.signed_callback(self.fake.robot_message(user, text, create_at_ms=now_ms), timestamp_ms=now_ms)
        return Request(cb.url, cb.body, cb.headers)

    def click_request(self, user: str, task_id: str, button: str) -> Request:
        click = self.fake.click(user, task_id, button)
        cb = click.http_request()
        path = cb.url[cb.url.index("/dingtalk/") :]
        self.fake.advance(1)
        return Request(path, cb.body, cb.headers)

    def drops(self) -> list[Any]:
        return []  # flow control is answered, not silent (flowControlledStaffIdList)

    def advance(self, seconds: float) -> None:
        self.fake.advance(seconds)


def make_side(platform: str, clock: ManualClock) -> Side:
    return WeComSide(clock) if platform == "wecom" else DingTalkSide(clock)


@dataclass
class Office:
    sides: dict[str, Side]
    runtime: Runtime
    bot: TestClient
    clock: ManualClock
    http: aiohttp.ClientSession
    platform: str  # the platform people use by default in this office

    @classmethod
    async def open(
        cls,
        db_url: str,
        clock: ManualClock,
        platform: str = "wecom",
        extra_config: str = "",
        *,
        platforms: tuple[str, ...] | None = None,
        people: dict[str, dict[str, str | None]] | None = None,
    ) -> Office:
        """``platforms``: the enabled platforms (default: just ``platform``). ``people``: per WeCom
        userid, the ids to use ({"wecom": …, "dingtalk": …}); by default every person has the same
        id on the enabled platforms."""
        enabled = platforms or (platform,)
        sides = {p: make_side(p, clock) for p in enabled}
        for side in sides.values():
            await side.start()
        config = make_config(db_url, extra_config)
        for person in config.people:
            ids = (people or {}).get(person.wecom_userid or "", None)
            base = person.wecom_userid
            person.wecom_userid = (ids or {}).get("wecom", base) if "wecom" in enabled else None
            person.dingtalk_userid = (ids or {}).get("dingtalk", base) if "dingtalk" in enabled else None
        for side in sides.values():
            side.configure(config)
        config.server.public_url = "https://liuyan.example.gov.cn"
        http = aiohttp.ClientSession()
        runtime = await Runtime.start(config, clock=clock, http=http)
        if runtime.engine.dialect.name == "postgresql":
            from bot.handlers.directory import bootstrap_from_config
            from tests.conftest import truncate_all

            await truncate_all(runtime.engine)
            await bootstrap_from_config(runtime.deps)
        for hook in runtime.channels.startup:
            await hook()
        bot = TestClient(TestServer(build_app(runtime)))
        await bot.start_server()
        return cls(sides, runtime, bot, clock, http, platform)

    async def close(self) -> None:
        await self.bot.close()
        await self.runtime.close()
        await self.http.close()
        for side in self.sides.values():
            await side.close()

    def side(self, platform: str | None = None) -> Side:
        return self.sides[platform or self.platform]

    @property
    def fake(self) -> Any:
        """The default platform's fake (for platform-specific tests)."""
        return self.side().fake  # type: ignore[attr-defined]

    # --- driving -----------------------------------------------------------------------------

    async def settle(self, rounds: int = 50) -> None:
        """Run the inbound worker and the outbox sender until nothing is left to do now."""
        ch = self.runtime.channels
        for side in self.sides.values():
            if hasattr(side, "sync"):
                side.sync()
        for _ in range(rounds):
            done = await ch.worker.run_once() + await ch.sender.run_once()
            if done == 0:
                return
        raise AssertionError("the bot did not settle")

    async def post(self, request: Request, *, settle: bool = True) -> int:
        """Deliver a callback as the platform would; returns the HTTP status."""
        resp = await self.bot.post(request.path, data=request.body, headers=request.headers)
        await resp.read()
        if settle:
            await self.settle()
        return resp.status

    @property
    def callbacks(self) -> WeComCallbacks:
        return self.sides["wecom"].callbacks  # type: ignore[attr-defined, no-any-return]

    async def deliver(self, request: CallbackRequest, *, settle: bool = True) -> int:
        """POST a raw WeCom callback (for WeCom-protocol tests)."""
        return await self.post(Request(request.path_qs(), request.body, {"Content-Type": "text/xml"}), settle=settle)

    async def say(self, user: str, text: str, *, on: str | None = None) -> None:
        await self.post(self.side(on).text_request(user, text))

    async def click(self, user: str, task_id: str, button: str, *, on: str | None = None, settle: bool = True) -> None:
        await self.post(self.side(on).click_request(user, task_id, button), settle=settle)

    async def register(self, **fields: Any) -> dict[str, Any]:
        body = {
            "title": "某公司拖欠工资三个月",
            "content": "我在某公司工作，公司已经三个月没有发工资，电话13800138000。",
            "unit": "区人社局",
            "petitioner": "李四",
            "contact": "13800138000",
            "category": "欠薪欠资",
            "source": "人民网·地方领导留言板",
            **fields,
        }
        resp = await self.bot.post("/api/cases", json=body, headers={"Authorization": "Bearer test-token"})
        assert resp.status in (200, 201), await resp.text()
        await self.settle()
        return dict(await resp.json())

    async def case(self, number: str) -> dict[str, Any]:
        """The case as JSON from the current runtime's database (also after a restart)."""
        from bot.handlers.read_models import case_json
        from store import repo

        async with self.runtime.deps.sessions() as session:
            found = await repo.case_by_number(session, number)
            assert found is not None
            return await case_json(session, found, tz=self.runtime.deps.config.office.tz)

    case_direct = case

    # --- reading what people got ---------------------------------------------------------------

    def cards(self, user: str, kind: str | None = None, *, on: str | None = None) -> list[SeenCard]:
        return [c for c in self.side(on).cards(user) if kind is None or f"-{kind}-" in c.task_id]

    def card(self, user: str, kind: str, *, on: str | None = None) -> SeenCard:
        found = self.cards(user, kind, on=on)
        assert found, f"{user} has no {kind} card on {on or self.platform}"
        return found[-1]

    def texts(self, user: str, *, on: str | None = None) -> list[str]:
        return self.side(on).texts(user)

    def last_text(self, user: str, *, on: str | None = None) -> str:
        texts = self.texts(user, on=on)
        assert texts, f"{user} got no text on {on or self.platform}"
        return texts[-1]

    def group_posts(self, *, on: str | None = None) -> list[str]:
        return self.side(on).group_posts()

    def drops(self) -> list[Any]:
        return [d for side in self.sides.values() for d in side.drops()]


def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI)


async def tick(office: Office, when: datetime) -> int:
    office.clock.set(when)
    queued = await office.runtime.channels.jobs.tick()
    await office.settle()
    return queued


def reminders(office: Office, user: str) -> list[str]:
    return [t for t in office.texts(user) if t.startswith("【办理提醒】")]
