"""Helpers for the hostile-input suite: every bad input ends in a correct conversion or in one
clear sentence (InputError / WeightsError), never in a traceback."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
       b'<script>alert(1)</script><rect width="100" height="100"/></svg>')


class Payload:
    """A pickle payload: unpickling it writes `marker`, the proof that a file ran code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('code ran')",))


def save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def assert_sentence(err: BaseException, *words: str) -> str:
    """`err`'s message is one short sentence for the user, holding each of `words`."""
    msg = str(err)
    assert "\n" not in msg and "Traceback" not in msg and "\x1b" not in msg, msg
    assert 10 < len(msg) <= 300 and msg.endswith("."), msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    return msg
