"""WeCom's documented sending limits, in one table (shared/spec/wecom.md).

The sender paces by ``LIMITS.rates``; WeCom silently drops app messages beyond the per-member
limits (§3.8 "超过部分会被丢弃不下发"), so pacing is exact rather than best effort: the fake
server drops by the same numbers and the tests prove nothing is dropped.
"""

from __future__ import annotations

from typing import Final

from bot.ports import Channel, Limit, PlatformLimits

#: message/send (§3.8): per app per member ≤ 30 messages/minute and ≤ 1000/hour. Only
#: ``message/send`` counts: ``message/update_template_card`` changes a message already sent
#: and falls under the base per-corp API limit (10 000 calls/minute), not the member's.
MEMBER_PER_MINUTE: Final = 30
MEMBER_PER_HOUR: Final = 1000
#: appchat/send (§5.1): a member receives ≤ 200 messages/minute and ≤ 10 000/day from one app
#: across its groups; a post to a group reaches every member, so the group is paced by them.
APPCHAT_PER_MINUTE: Final = 200
APPCHAT_PER_DAY: Final = 10_000
#: webhook/send (§5.2): ≤ 20 messages per minute per robot.
WEBHOOK_PER_MINUTE: Final = 20

LIMITS: Final = PlatformLimits(
    rates=(
        # bulk keeps 5 a minute and 50 an hour free so that an answer is never paced
        Limit(Channel.USER, MEMBER_PER_MINUTE, 60, "wecom.md §3.8", reserve=5),
        Limit(Channel.USER, MEMBER_PER_HOUR, 3600, "wecom.md §3.8", reserve=50),
        Limit(Channel.GROUP, APPCHAT_PER_MINUTE, 60, "wecom.md §5.1"),
        Limit(Channel.GROUP, APPCHAT_PER_DAY, 86_400, "wecom.md §5.1"),
        Limit(Channel.WEBHOOK, WEBHOOK_PER_MINUTE, 60, "wecom.md §5.2"),
    ),
    content_bytes={
        "user:text": 2048,  # §3.3
        "user:markdown": 2048,  # §3.4
        "group:text": 2048,  # §5.1
        "group:markdown": 2048,  # §5.1
        "webhook:text": 2048,  # §5.2
        "webhook:markdown": 4096,  # §5.2
    },
)
