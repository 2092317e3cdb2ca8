"""A case as the API takes it, and the header that authorises a request (the test config's token)."""

from __future__ import annotations

AUTH = {"Authorization": "Bearer test-token"}
CASE = {
    "title": "某公司拖欠工资三个月",
    "content": "公司已经三个月没有发工资。",
    "unit": "区人社局",
    "level": "市级",
    "source": "人民网·地方领导留言板",
    "source_ref": "RMW-3003",
    "petitioner": "李四",
    "contact": "13800138000",
    "category": "欠薪欠资",
    "received_at": "2026-11-01T20:00:00+08:00",
}
