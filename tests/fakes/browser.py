"""Real headless Chromium for the page tests: the binary (or a visible skip; in CI a failure) and
an environment whose fonts show Chinese on any machine (the packaged Noto Sans SC)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def chromium_or_skip() -> str:
    """The chromium binary, or skip with the reason — in CI (CI=true) a missing browser fails."""
    reason = ""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install 'playwright>=1.40')"
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else "")
    if not exe:
        reason = reason or "no chromium binary (apt-get install chromium)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the browser test cannot run: {reason}")
        pytest.skip(reason)
    return exe


def font_env(tmp_path: Path) -> dict[str, str]:
    """Chromium's environment: the system fonts plus the packaged Noto Sans SC, when installed."""
    env = dict(os.environ)
    try:
        import pylopdf_fonts_zh_cn  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return env
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{pylopdf_fonts_zh_cn.sans_path().parent}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir>"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return env | {"FONTCONFIG_FILE": str(conf)}
