"""WeCom callback crypto and passive replies (spec §1.2–§1.6, §4.1).

Official vectors: the ``QDG6eK`` samples of path/90968 as shipped in the official
WXBizMsgCrypt samples (C# ``Sample.cs``, Java ``WXBizMsgCryptTest``): token ``QDG6eK``,
corpid ``wx5823bf96d3bd56c7``, EncodingAESKey ``jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C``.
"""

from __future__ import annotations

import base64
import struct

import defusedxml.ElementTree as DefusedET
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import WeChatCrypto
from yarl import URL

from bot.platforms.wecom.crypto import MAX_BODY_BYTES, WeComCrypto, WeComCryptoError
from bot.platforms.wecom.replies import cdata, envelope, text_reply, truncate_utf8, update_button_reply
from tests.fakes.wecom_callbacks import WeComCallbacks
from tests.fakes.wecom_samples import (
    AES_KEY,
    CORP_ID,
    GET_ECHOSTR,
    GET_NONCE,
    GET_PLAINTEXT,
    GET_RAW_QUERY,
    GET_SIGNATURE,
    GET_TIMESTAMP,
    KEY,
    POST_BODY,
    POST_ENCRYPT,
    POST_NONCE,
    POST_PLAINTEXT,
    POST_PREFIX,
    POST_SIGNATURE,
    POST_TIMESTAMP,
    TOKEN,
)


@pytest.fixture
def crypto() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


@pytest.fixture
def callbacks() -> WeComCallbacks:
    return WeComCallbacks(TOKEN, AES_KEY, CORP_ID, agent_id=218, clock=lambda: 1_718_000_000)


def _raw_encrypt(plain: bytes) -> str:
    """AES-CBC over an already padded block sequence (to forge bad padding / lengths)."""
    enc = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def _post(crypto: WeComCrypto, encrypt: str, ts: str = "1718000000", nonce: str = "42") -> str:
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    return crypto.decrypt(body, crypto.sign(ts, nonce, encrypt), ts, nonce)


def _code(excinfo: pytest.ExceptionInfo[WeComCryptoError]) -> int:
    return excinfo.value.code


# -- official samples ---------------------------------------------------------------------


def test_official_get_sample_verifies(crypto: WeComCrypto) -> None:
    assert crypto.verify_url(GET_SIGNATURE, GET_TIMESTAMP, GET_NONCE, GET_ECHOSTR) == GET_PLAINTEXT


def test_official_get_sample_through_aiohttp_query_decoding(crypto: WeComCrypto) -> None:
    # The raw query as WeCom sends it (%2B, %2F, %3D); yarl decodes it as aiohttp does.
    q = URL("/wecom/callback?" + GET_RAW_QUERY).query
    assert q["echostr"] == GET_ECHOSTR
    assert crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]) == GET_PLAINTEXT


def test_literal_plus_in_echostr_decoded_as_space_is_mapped_back(crypto: WeComCrypto) -> None:
    # spec §1.2: a literal '+' becomes ' ' in request.query; map it back before verifying.
    q = URL("/cb?" + GET_RAW_QUERY.replace("%2B", "+")).query
    assert " " in q["echostr"]
    assert crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]) == GET_PLAINTEXT


def test_official_post_sample_decrypts_exactly(crypto: WeComCrypto) -> None:
    assert crypto.decrypt(POST_BODY, POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE) == POST_PLAINTEXT


def test_signature_worked_example(crypto: WeComCrypto) -> None:
    # spec §1.4 vector OFF-A-POST.
    assert crypto.sign(POST_TIMESTAMP, POST_NONCE, POST_ENCRYPT) == POST_SIGNATURE
    assert crypto.sign(int(POST_TIMESTAMP), POST_NONCE, POST_ENCRYPT) == POST_SIGNATURE


def test_reencrypting_the_official_sample_is_byte_exact() -> None:
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID, random_prefix=lambda: POST_PREFIX)
    assert crypto.encrypt(POST_PLAINTEXT) == POST_ENCRYPT


def test_uppercase_signature_is_accepted(crypto: WeComCrypto) -> None:
    assert crypto.decrypt(POST_BODY, POST_SIGNATURE.upper(), POST_TIMESTAMP, POST_NONCE) == POST_PLAINTEXT


# -- cross-checks with wechatpy and the independent test implementation -------------------


def test_wechatpy_reads_our_reply_envelope(crypto: WeComCrypto) -> None:
    plain = text_reply("zhangsan", CORP_ID, "已收到，谢谢 👍", 1_718_000_001)
    env = envelope(crypto, plain, "987654321", 1_718_000_001)
    assert (
        WeChatCrypto(TOKEN, AES_KEY, CORP_ID).decrypt_message(
            env,
            crypto.sign("1718000001", "987654321", DefusedET.fromstring(env).findtext("Encrypt")),
            "1718000001",
            "987654321",
        )
        == plain
    )


def test_we_read_wechatpy_envelopes(crypto: WeComCrypto) -> None:
    wc = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    for text in ["<xml><Content><![CDATA[你好]]></Content></xml>", "x" * 31, "y" * 500, ""]:
        env = wc.encrypt_message(text, "555", "1718000000")
        sig = DefusedET.fromstring(env).findtext("MsgSignature")
        assert crypto.decrypt(env.encode(), sig, "1718000000", "555") == text


def test_independent_builder_round_trips(crypto: WeComCrypto, callbacks: WeComCallbacks) -> None:
    for text in ["hello", "签收 LY-2024-0001 😀", "a" * 2000, "<xml/>"]:
        req = callbacks.post(text)
        q = req.query
        assert crypto.decrypt(req.body, q["msg_signature"], q["timestamp"], q["nonce"]) == text
    req = callbacks.verification("echo-123")
    q = req.query
    assert crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]) == "echo-123"


def test_reply_envelope_opens_with_independent_implementation(crypto: WeComCrypto, callbacks: WeComCallbacks) -> None:
    plain = update_button_reply("zhangsan", CORP_ID, "已签收", 1_718_000_001)
    assert callbacks.open_reply(envelope(crypto, plain, "123", "1718000001")) == plain


def test_binary_random_prefix_is_accepted(crypto: WeComCrypto, callbacks: WeComCallbacks) -> None:
    # spec §1.5 GEN-A-BINPREFIX: the 16 random bytes are opaque.
    enc = callbacks.encrypt("binary prefix", prefix=bytes(range(240, 256)))
    assert _post(crypto, enc) == "binary prefix"


def test_block_aligned_plaintext_gets_a_full_padding_block(crypto: WeComCrypto, callbacks: WeComCallbacks) -> None:
    # spec §1.5 GEN-A-ALIGNED: 16 + 4 + len(msg) + 18 ≡ 0 (mod 32) → a block of 0x20.
    msg = "m" * (64 - 16 - 4 - len(CORP_ID))
    enc = crypto.encrypt(msg)
    raw = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).decryptor().update(base64.b64decode(enc))
    assert len(raw) == 96 and raw[-32:] == b"\x20" * 32
    assert _post(crypto, enc) == msg
    assert _post(crypto, callbacks.encrypt(msg)) == msg


def test_prefix_is_random_by_default(crypto: WeComCrypto) -> None:
    assert crypto.encrypt("same") != crypto.encrypt("same")


# -- failures -------------------------------------------------------------------------------


def test_bad_signature_is_rejected_before_decrypting(crypto: WeComCrypto) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(POST_BODY, "0" * 40, POST_TIMESTAMP, POST_NONCE)
    assert _code(exc) == -40001
    # Garbage ciphertext with a wrong signature: signature error, not a base64 error.
    body = b"<xml><Encrypt><![CDATA[!!!not base64!!!]]></Encrypt></xml>"
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(body, "0" * 40, "1", "2")
    assert _code(exc) == -40001


@pytest.mark.parametrize("sig", ["", "zz", "签名" * 20, GET_SIGNATURE])
def test_wrong_or_odd_signatures(crypto: WeComCrypto, sig: str) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(POST_BODY, sig, POST_TIMESTAMP, POST_NONCE)
    assert _code(exc) == -40001


def test_missing_query_parameters_are_signature_errors(crypto: WeComCrypto) -> None:
    for args in [
        (None, GET_TIMESTAMP, GET_NONCE, GET_ECHOSTR),
        (GET_SIGNATURE, None, GET_NONCE, GET_ECHOSTR),
        (GET_SIGNATURE, GET_TIMESTAMP, None, GET_ECHOSTR),
        (GET_SIGNATURE, GET_TIMESTAMP, GET_NONCE, None),
        (GET_SIGNATURE, GET_TIMESTAMP, GET_NONCE, ""),
    ]:
        with pytest.raises(WeComCryptoError) as exc:
            crypto.verify_url(*args)  # type: ignore[arg-type]
        assert _code(exc) == -40001
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(POST_BODY, POST_SIGNATURE, POST_TIMESTAMP, None)  # type: ignore[arg-type]
    assert _code(exc) == -40001


def test_get_with_tampered_timestamp_fails(crypto: WeComCrypto) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        crypto.verify_url(GET_SIGNATURE, "1409659590", GET_NONCE, GET_ECHOSTR)
    assert _code(exc) == -40001


def test_wrong_corp_id_is_receiveid_error() -> None:
    other = WeComCrypto(TOKEN, AES_KEY, "wwanothercorp0001")
    with pytest.raises(WeComCryptoError) as exc:
        other.decrypt(POST_BODY, POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE)
    assert _code(exc) == -40005


def test_foreign_receive_id_is_rejected(crypto: WeComCrypto, callbacks: WeComCallbacks) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        _post(crypto, callbacks.encrypt("hi", receive_id="suite123"))
    assert _code(exc) == -40005
    with pytest.raises(WeComCryptoError) as exc:  # empty receiveid (personal third-party apps)
        _post(crypto, callbacks.encrypt("hi", receive_id=""))
    assert _code(exc) == -40005


def test_wrong_key_fails_with_a_typed_error() -> None:
    other = WeComCrypto(TOKEN, "A" * 43, CORP_ID)
    with pytest.raises(WeComCryptoError) as exc:
        other.decrypt(POST_BODY, POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE)
    assert _code(exc) in (-40008, -40005)


@pytest.mark.parametrize(
    ("encrypt", "code"),
    [
        ("!!!!", -40010),
        ("abc", -40010),  # bad base64 length
        ("YWJj ZGVm", -40010),
        ("6K+B5Lu2", -40007),  # valid base64, 6 bytes: not an AES length
        (base64.b64encode(b"x" * 20).decode(), -40007),
        (base64.b64encode(b"x" * 16).decode(), -40007),  # shorter than one 32-byte block
        (base64.b64encode(b"x" * 48).decode(), -40008),  # 3 blocks of garbage: bad padding
        ("签名", -40010),
    ],
)
def test_garbage_ciphertext(crypto: WeComCrypto, encrypt: str, code: int) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        _post(crypto, encrypt)
    assert _code(exc) == code


def _layout(msg: bytes, rid: bytes, msg_len: int | None = None) -> bytes:
    return b"R" * 16 + struct.pack(">I", len(msg) if msg_len is None else msg_len) + msg + rid


@pytest.mark.parametrize(
    "tail",
    [
        b"\x00" * 32,  # pad value 0
        b"\x21" * 32,  # pad value 33
        b"\x41" * 32,  # pad value 65
        b"\x05" * 28 + b"\x01\x02\x03\x04",  # value 4 but inconsistent pad bytes
        b"\x10" * 20 + b"\x07" + b"\x10" * 11,  # value 16, one pad byte differs
    ],
)
def test_bad_pkcs7_padding(crypto: WeComCrypto, tail: bytes) -> None:
    content = _layout(b"hello", CORP_ID.encode())
    body = content + b"\x00" * (-len(content) % 32)
    with pytest.raises(WeComCryptoError) as exc:
        _post(crypto, _raw_encrypt(body + tail))
    assert _code(exc) == -40008


def test_msg_len_beyond_buffer(crypto: WeComCrypto) -> None:
    content = _layout(b"hello", CORP_ID.encode(), msg_len=10_000)
    pad = 32 - len(content) % 32
    with pytest.raises(WeComCryptoError) as exc:
        _post(crypto, _raw_encrypt(content + bytes([pad]) * pad))
    assert _code(exc) == -40008


def test_non_utf8_msg(crypto: WeComCrypto) -> None:
    content = _layout(b"\xff\xfe\xfd", CORP_ID.encode())
    pad = 32 - len(content) % 32
    with pytest.raises(WeComCryptoError) as exc:
        _post(crypto, _raw_encrypt(content + bytes([pad]) * pad))
    assert _code(exc) == -40008


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<xml><Encrypt>&lol4;</Encrypt></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]><xml><Encrypt>x</Encrypt></xml>"""
DOCTYPE_ONLY = b"<!DOCTYPE xml><xml><Encrypt>" + POST_ENCRYPT.encode() + b"</Encrypt></xml>"

HOSTILE = [
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    PARAMETER_ENTITY,
    DOCTYPE_ONLY,
    b"",
    b"not xml at all",
    b"<xml><Encrypt>unterminated",
    b"<root><Encrypt>" + POST_ENCRYPT.encode() + b"</Encrypt></root>",
    b"<xml><ToUserName>x</ToUserName></xml>",
    b"<xml><Encrypt></Encrypt></xml>",
    b"<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>",
    b"\xff\xfe<\x00x\x00",
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_or_malformed_envelopes(crypto: WeComCrypto, body: bytes) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(body, POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE)
    assert _code(exc) == -40002


def test_oversized_body_and_echostr(crypto: WeComCrypto) -> None:
    huge = b"<xml><Encrypt>" + b"A" * MAX_BODY_BYTES + b"</Encrypt></xml>"
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(huge, POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE)
    assert _code(exc) == -40002
    with pytest.raises(WeComCryptoError) as exc:
        crypto.verify_url(GET_SIGNATURE, GET_TIMESTAMP, GET_NONCE, "A" * (MAX_BODY_BYTES + 4))
    assert _code(exc) == -40010


def test_large_but_allowed_ciphertext_decrypts(crypto: WeComCrypto) -> None:
    text = "长" * 15_000  # 45 KB plaintext, ~60 KB base64
    enc = crypto.encrypt(text)
    assert len(enc) < MAX_BODY_BYTES - 100
    assert _post(crypto, enc) == text


def test_error_text_never_carries_secrets_or_data(crypto: WeComCrypto, callbacks: WeComCallbacks) -> None:
    secret_text = "petitioner 13800138000"
    attempts = [
        lambda: crypto.decrypt(POST_BODY, "0" * 40, POST_TIMESTAMP, POST_NONCE),
        lambda: WeComCrypto(TOKEN, AES_KEY, "wwother").decrypt(POST_BODY, POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE),
        lambda: _post(crypto, callbacks.encrypt(secret_text, receive_id="x")),
        lambda: _post(crypto, "@@@"),
        lambda: crypto.decrypt(EXTERNAL_ENTITY, "0", "1", "2"),
    ]
    for attempt in attempts:
        with pytest.raises(WeComCryptoError) as exc:
            attempt()
        text = f"{exc.value} {exc.value.reason!r} {exc.value.args!r}"
        for forbidden in (TOKEN, AES_KEY, POST_ENCRYPT[:20], "hello", secret_text, "passwd"):
            assert forbidden not in text
        assert exc.value.__context__ is None or exc.value.__suppress_context__


@pytest.mark.parametrize("key", ["short", "A" * 42, "A" * 44, "+" * 43, "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2="])
def test_illegal_encoding_aes_key(key: str) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        WeComCrypto(TOKEN, key, CORP_ID)
    assert _code(exc) == -40004


def test_repr_hides_secrets(crypto: WeComCrypto) -> None:
    assert TOKEN not in repr(crypto) and AES_KEY not in repr(crypto)


# -- passive replies (spec §1.6, §4.1) -------------------------------------------------------


def test_truncate_utf8_keeps_character_boundaries() -> None:
    assert truncate_utf8("abc", 10) == "abc"
    assert truncate_utf8("中文字", 7) == "中文"  # 9 bytes → 6
    assert truncate_utf8("a😀b", 4) == "a"  # the emoji needs 4 bytes
    assert truncate_utf8("a😀b", 5) == "a😀"
    assert truncate_utf8("", 0) == ""


def test_text_reply_content_is_cut_to_2048_bytes() -> None:
    plain = text_reply("zhangsan", CORP_ID, "办" * 700, 1_718_000_000)  # 2100 bytes
    content = DefusedET.fromstring(plain).findtext("Content")
    assert content == "办" * 682 and len(content.encode()) == 2046


def test_text_reply_fields() -> None:
    root = DefusedET.fromstring(text_reply("zhangsan", CORP_ID, "好的", 1_718_000_000))
    assert [c.tag for c in root] == ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content"]
    assert root.findtext("ToUserName") == "zhangsan"
    assert root.findtext("FromUserName") == CORP_ID
    assert root.findtext("CreateTime") == "1718000000"
    assert root.findtext("MsgType") == "text"


@pytest.mark.parametrize("text", ["a]]>b", "]]>", "]]]]>>", "x]]>y]]>z", "<&>\"'"])
def test_cdata_escaping_round_trips(text: str) -> None:
    root = DefusedET.fromstring(f"<xml><C>{cdata(text)}</C></xml>")
    assert root.findtext("C") == text


def test_cdata_drops_xml_illegal_characters() -> None:
    wrapped = cdata("a\x00b\x07c\td")
    root = DefusedET.fromstring(f"<xml><C>{wrapped}</C></xml>")
    assert root.findtext("C") == "abc\td"


def test_update_button_reply() -> None:
    root = DefusedET.fromstring(update_button_reply("zhangsan", CORP_ID, "已签收]]>", 1_718_000_000))
    assert root.findtext("MsgType") == "update_button"
    assert root.findtext("Button/ReplaceName") == "已签收]]>"
    with pytest.raises(ValueError):
        update_button_reply("zhangsan", CORP_ID, "", 1)


def test_envelope_has_all_four_fields_and_verifies(crypto: WeComCrypto) -> None:
    plain = text_reply("zhangsan", CORP_ID, "ok", 1_718_000_000)
    env = envelope(crypto, plain, "987654321", "1718000001")
    root = DefusedET.fromstring(env)
    assert [c.tag for c in root] == ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]
    assert root.findtext("TimeStamp") == "1718000001" and root.findtext("Nonce") == "987654321"
    assert crypto.decrypt(env.encode(), root.findtext("MsgSignature"), "1718000001", "987654321") == plain
    with pytest.raises(ValueError):
        envelope(crypto, plain, "n]]>", "1")
    with pytest.raises(ValueError):
        envelope(crypto, plain, "1", "12a")
