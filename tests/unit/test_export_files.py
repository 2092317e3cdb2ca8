"""The one atomic write every file goes through (bot.exports.files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.exports.files import ExportError, check_suffix, write_atomically


def test_writes_bytes_text_and_callbacks(tmp_path: Path) -> None:
    assert write_atomically(tmp_path / "a.bin", b"\x00\x01") == tmp_path / "a.bin"
    write_atomically(tmp_path / "b.html", "留言档案")
    write_atomically(tmp_path / "c.txt", lambda p: p.write_text("由回调写入", encoding="utf-8"))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.html").read_text(encoding="utf-8") == "留言档案"
    assert (tmp_path / "c.txt").read_text(encoding="utf-8") == "由回调写入"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.html", "c.txt"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"old")

    def half_then_fail(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match="无法写入 .*report.xlsx：No space left on device"):
        write_atomically(target, half_then_fail)

    def half_then_bug(path: Path) -> None:
        path.write_bytes(b"half")
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        write_atomically(target, half_then_bug)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_an_unwritable_place_is_one_readable_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="无法写入"):
        write_atomically(tmp_path / "no-such-dir" / "x.png", b"png")


def test_suffix_check() -> None:
    assert check_suffix(Path("A.XLSX"), (".xlsx",)) == ".xlsx"
    with pytest.raises(ExportError, match="x.pdf：文件名应以 .xlsx 或 .html 结尾"):
        check_suffix(Path("x.pdf"), (".xlsx", ".html"))


@pytest.mark.parametrize(
    "content",
    [b"bytes", "text", lambda p: p.write_text("callback", encoding="utf-8")],
    ids=["bytes", "text", "callback"],
)
def test_files_are_readable_by_the_owner_only(tmp_path: Path, content: object) -> None:
    import os
    import stat

    old = os.umask(0o022)  # the usual umask, which would give 0644
    try:
        path = write_atomically(tmp_path / "dossier.html", content)  # type: ignore[arg-type]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        (tmp_path / "old.xlsx").write_bytes(b"old")
        (tmp_path / "old.xlsx").chmod(0o644)
        again = write_atomically(tmp_path / "old.xlsx", content)  # type: ignore[arg-type]
        assert stat.S_IMODE(again.stat().st_mode) == 0o600
        shared = write_atomically(tmp_path / "chart.png", b"png", mode=0o640)
        assert stat.S_IMODE(shared.stat().st_mode) == 0o640
    finally:
        os.umask(old)
