"""DingTalk's documented sending limits, in one table (shared/spec/dingtalk.md).

DingTalk documents no per-member rate for the robot's one-to-one messages: it reports per-user
throttling in ``flowControlledStaffIdList`` (§c.1), which the transport re-queues. What it does
document is a per-app per-API rate (§g.2) and the custom robot's 20 a minute (§e).
"""

from __future__ import annotations

from typing import Final

from bot.ports import Channel, Limit, PlatformLimits

#: §g.2: per app per API ≤ 20 calls/second (standard edition), "throttle client-side to < 20/s".
API_PER_SECOND: Final = 20
#: §e: custom robot webhook ≤ 20 messages/minute; beyond, the robot is throttled for 10 minutes.
WEBHOOK_PER_MINUTE: Final = 20

LIMITS: Final = PlatformLimits(
    rates=(
        Limit(Channel.USER, API_PER_SECOND, 1, "dingtalk.md §g.2", reserve=4, per_app=True),
        Limit(Channel.CARD_UPDATE, API_PER_SECOND, 1, "dingtalk.md §g.2", per_app=True),
        Limit(Channel.GROUP, API_PER_SECOND, 1, "dingtalk.md §g.2", per_app=True),
        Limit(Channel.WEBHOOK, WEBHOOK_PER_MINUTE, 60, "dingtalk.md §e"),
    ),
    content_bytes={
        # §c.2: msgParam ≤ 15 000 bytes (§c.1 gives none for one-to-one: the same robot message
        # keys, the same limit); the text is a JSON string inside it with a title beside it, and
        # escapes (\n, \") lengthen it: 12 000 bytes of text keep the JSON under the limit
        "user:text": 12_000,
        "user:markdown": 12_000,
        "group:markdown": 12_000,
        # §e gives no size for the custom robot: the 2048 of a work notification (§c.6)
        "webhook:markdown": 2048,
    },
)
