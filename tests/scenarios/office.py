"""A whole office on a test bench: the bot (real HTTP app, real database) and a fake WeCom that
speaks the real protocol. Tests act only as people would: real encrypted callbacks in, what the
fake WeCom received out. Background work is stepped by hand (``settle``), never slept on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Runtime, build_app
from bot.clock import FrozenClock
from tests.conftest import make_config
from tests.fakes.fake_wecom import CardView, FakeWeCom
from tests.fakes.wecom_callbacks import CallbackRequest, WeComCallbacks

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
USERS = ("zhangsan", "limei", "wangkz", "zhaozj", "qiandj", "sundc", "zhousj", "wugl")


@dataclass
class Office:
    fake: FakeWeCom
    fake_server: TestServer
    runtime: Runtime
    bot: TestClient
    callbacks: WeComCallbacks
    clock: FrozenClock
    http: aiohttp.ClientSession

    @classmethod
    async def open(cls, db_url: str, clock: FrozenClock, extra_config: str = "", **fake_kwargs: Any) -> Office:
        fake = FakeWeCom(users=USERS, **fake_kwargs)
        fake_server = TestServer(fake.app())
        await fake_server.start_server()
        config = make_config(db_url, extra_config)
        config.wecom.enabled = True
        config.wecom.corp_id = fake.corp_id
        config.wecom.agent_id = fake.agent_id
        config.wecom.secret = fake.secret
        config.wecom.token = TOKEN
        config.wecom.encoding_aes_key = AES_KEY
        config.wecom.api_base = str(fake_server.make_url("")).rstrip("/")
        config.wecom.supervision_webhook_key = next(iter(fake.webhook_keys))
        config.server.public_url = "https://liuyan.example.gov.cn"
        http = aiohttp.ClientSession()
        runtime = await Runtime.start(config, clock=clock, http=http)
        if runtime.engine.dialect.name == "postgresql":
            from bot.handlers.directory import bootstrap_from_config
            from tests.conftest import truncate_all

            await truncate_all(runtime.engine)
            await bootstrap_from_config(runtime.deps)
        bot = TestClient(TestServer(build_app(runtime)))
        await bot.start_server()
        callbacks = WeComCallbacks(TOKEN, AES_KEY, fake.corp_id, agent_id=fake.agent_id, clock=fake.clock)
        return cls(fake, fake_server, runtime, bot, callbacks, clock, http)

    async def close(self) -> None:
        await self.bot.close()
        await self.runtime.close()
        await self.http.close()
        await self.fake_server.close()

    # --- driving -----------------------------------------------------------------------------

    async def settle(self, rounds: int = 50) -> None:
        """Run the inbound worker and the outbox sender until nothing is left to do now."""
        ch = self.runtime.channels
        for _ in range(rounds):
            done = await ch.worker.run_once() + await ch.sender.run_once()
            if done == 0:
                return
        raise AssertionError("the bot did not settle")

    async def deliver(self, request: CallbackRequest, *, settle: bool = True) -> int:
        """POST a callback as WeCom would; returns the HTTP status."""
        resp = await self.bot.post(request.path_qs(), data=request.body,
                                   headers={"Content-Type": "text/xml"})
        assert await resp.text() == "" or resp.status != 200
        if settle:
            await self.settle()
        return resp.status

    async def say(self, user: str, text: str) -> None:
        await self.deliver(self.callbacks.text(user, text))

    async def click(self, user: str, task_id: str, button_text: str) -> dict[str, Any]:
        view = self.fake.card_state(user, task_id)
        assert view is not None, f"{user} has no card {task_id}"
        key = next(b["key"] for b in view.card["button_list"] if b["text"] == button_text)
        fields = self.fake.click(user, task_id, key)
        self.fake.advance(1)  # two clicks are never in the same second here
        await self.deliver(self.callbacks.from_fields(fields))
        return fields

    async def register(self, **fields: Any) -> dict[str, Any]:
        body = {"title": "某公司拖欠工资三个月", "content": "我在某公司工作，公司已经三个月没有发工资，电话13800138000。",
                "unit": "区人社局", "petitioner": "李四", "contact": "13800138000", "category": "欠薪欠资",
                "source": "人民网·地方领导留言板", **fields}
        resp = await self.bot.post("/api/cases", json=body, headers={"Authorization": "Bearer test-token"})
        assert resp.status in (200, 201), await resp.text()
        await self.settle()
        return dict(await resp.json())

    async def case_direct(self, number: str) -> dict[str, Any]:
        """The case as JSON straight from the current runtime's database (after a restart)."""
        from bot.handlers.views import case_json
        from store import repo

        async with self.runtime.deps.sessions() as session:
            found = await repo.case_by_number(session, number)
            assert found is not None
            return await case_json(session, found)

    async def case(self, number: str) -> dict[str, Any]:
        resp = await self.bot.get(f"/api/cases/{number}", headers={"Authorization": "Bearer test-token"})
        return dict(await resp.json())

    # --- reading what people got ---------------------------------------------------------------

    def cards(self, user: str, kind: str | None = None) -> list[CardView]:
        """The user's cards, oldest first (optionally only task ids of one kind)."""
        views = []
        for m in self.fake.messages_to(user):
            if m.card is None:
                continue
            task_id = m.card["task_id"]
            if kind is None or f"-{kind}-" in task_id:
                view = self.fake.card_state(user, task_id)
                assert view is not None
                views.append(view)
        return views

    def card(self, user: str, kind: str) -> CardView:
        found = self.cards(user, kind)
        assert found, f"{user} has no {kind} card; got {[m.body for m in self.fake.messages_to(user)]}"
        return found[-1]

    def texts(self, user: str) -> list[str]:
        return [m.content or "" for m in self.fake.messages_to(user) if m.msgtype in ("text", "markdown")]

    def last_text(self, user: str) -> str:
        texts = self.texts(user)
        assert texts, f"{user} got no text"
        return texts[-1]
