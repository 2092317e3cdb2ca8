"""Reading a text file an admin edited by hand (config, calendar import): UTF-8 with or without
BOM and UTF-16 with BOM (Windows Notepad's "Unicode") are read; GBK/GB18030 ("ANSI" on Chinese
Windows) is refused by name rather than guessed, since a wrong guess would import garbled names."""

from __future__ import annotations

import codecs
import os


class TextFileError(ValueError):
    """The file cannot be read as text; the message names the file and, when known, the encoding."""


def read_text(path: str | os.PathLike[str]) -> str:
    """The file's text (UTF-8, UTF-8 with BOM, UTF-16 with BOM); TextFileError naming the file and
    the encoding it seems to be in otherwise."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise TextFileError(f"无法读取文件 {name}：{exc.strerror or exc}（cannot read {name}）") from exc
    return decode_text(raw, name)


def decode_text(raw: bytes, name: str) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "UTF-8"
        text_or_none = _try(raw[len(codecs.BOM_UTF8) :], "utf-8")
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "UTF-16"
        text_or_none = _try(raw, "utf-16")
    elif b"\x00" in raw:
        raise TextFileError(
            f"{name}：文件似乎是不带 BOM 的 UTF-16 编码，无法读取，请另存为 UTF-8（{name}: UTF-16 without BOM）"
        )
    else:
        encoding = "UTF-8"
        text_or_none = _try(raw, "utf-8")
        if text_or_none is None:
            guess = "GBK/GB18030" if _try(raw, "gb18030") is not None else "未知编码"
            raise TextFileError(
                f"{name} 不是 UTF-8 编码（看起来是 {guess}）：请用记事本“另存为”UTF-8 后重试"
                f"（{name} is not UTF-8, it looks like {guess if guess != '未知编码' else 'an unknown encoding'}）"
            )
    if text_or_none is None:
        raise TextFileError(f"{name}：无法按 {encoding} 解码，请另存为 UTF-8 后重试（{name}: not valid {encoding}）")
    return text_or_none


def _try(raw: bytes, codec: str) -> str | None:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        return None
