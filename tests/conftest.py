import io

import numpy as np
import pytest
from PIL import Image


def png_bytes(a: np.ndarray, mode: str | None = None, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a, mode=mode).save(buf, format=save.pop("format", "PNG"), **save)
    return buf.getvalue()


@pytest.fixture
def step_image() -> np.ndarray:
    """A 32x32 RGB image, dark top half, bright bottom half."""
    a = np.zeros((32, 32, 3), np.uint8)
    a[16:] = 255
    return a
