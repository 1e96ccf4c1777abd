"""Bad input gets one clear sentence (InputError); odd but valid images are converted correctly."""
import io

import numpy as np
import pytest
from PIL import Image

from nnviz import inputs
from nnviz.inputs import InputError, digit_to_28, load_image, prepare_image
from nnviz.models.cnn import DIGITS_PRE, IMAGENET_PRE
from tests.conftest import png_bytes


def save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    "data,msg",
    [
        (b"", "empty"),
        (b"hello, I am a text file" * 10, "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "not an image|damaged"),
    ],
)
def test_garbage_is_refused(data, msg):
    with pytest.raises(InputError, match=msg):
        load_image(data, "upload.png")


def test_truncated_jpeg_is_refused():
    rng = np.random.default_rng(0)
    data = save(Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)), "JPEG")
    with pytest.raises(InputError, match="damaged or truncated"):
        load_image(data[: len(data) // 2], "cut.jpg")


def test_decompression_bomb_is_refused():
    data = save(Image.new("1", (8000, 8000)), "PNG")  # 64 M pixels in a few kB
    assert len(data) < 100_000
    with pytest.raises(InputError, match="decompression bomb"):
        load_image(data, "bomb.png")


def test_too_many_bytes(monkeypatch):
    monkeypatch.setattr(inputs, "MAX_BYTES", 100)
    with pytest.raises(InputError, match="MB"):
        load_image(b"x" * 101, "big.png")


def test_tiny_and_extreme_aspect_are_refused():
    with pytest.raises(InputError, match="1x1 pixels"):
        load_image(png_bytes(np.zeros((1, 1, 3), np.uint8)))
    with pytest.raises(InputError, match="wider than tall"):
        load_image(png_bytes(np.zeros((10, 500, 3), np.uint8)))


def test_16bit_grayscale_is_rescaled():
    a = np.array([[0, 1000], [2000, 4000]], dtype=np.uint16).repeat(4, 0).repeat(4, 1)
    img = load_image(save(Image.fromarray(a), "PNG"))
    assert img.rgb.shape == (8, 8, 3)
    assert img.rgb[0, 0, 0] == 0.0 and img.rgb[-1, -1, 0] == pytest.approx(1.0)
    assert img.rgb[0, -1, 0] == pytest.approx(0.25)
    assert any("16-bit" in n for n in img.notes)


def test_cmyk_palette_alpha_become_rgb():
    cmyk = load_image(save(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG"))  # pure red ink
    assert cmyk.rgb[4, 4, 0] > 0.9 and cmyk.rgb[4, 4, 1] < 0.15
    assert "converted from CMYK" in cmyk.notes

    rgba = np.zeros((8, 8, 4), np.uint8)  # fully transparent black -> white
    img = load_image(png_bytes(rgba, "RGBA"))
    assert np.all(img.rgb == 1.0) and "transparent areas shown on white" in img.notes

    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    assert np.allclose(load_image(save(pal, "PNG")).rgb[0, 0], [0, 0, 1])


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    img = load_image(data)
    assert img.rgb[0, 0, 0] > 0.9 and img.rgb[0, 0, 1] < 0.1
    assert any("first of 2 frames" in n for n in img.notes)


def test_exif_rotation_is_applied():
    im = Image.new("RGB", (40, 20), (255, 255, 255))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img = load_image(save(im, "JPEG", exif=exif))
    assert img.size == (20, 40)
    assert any("EXIF" in n for n in img.notes)


def test_huge_image_is_downscaled():
    img = load_image(save(Image.new("RGB", (4096, 1024), (10, 20, 30)), "PNG"))
    assert img.size == (2048, 512)
    assert any("downscaled from 4096×1024 to 2048×512 pixels (width × height)" in n for n in img.notes)


def test_digit_framing_centres_and_inverts():
    paper = np.ones((100, 60), np.float32)
    paper[20:80, 25:35] = 0.0  # a dark vertical stroke: a "1"
    notes = []
    d = digit_to_28(paper, notes)
    assert d.shape == (28, 28) and d.max() == pytest.approx(1.0)
    ys, xs = np.nonzero(d > 0.5)
    assert ys.max() - ys.min() + 1 == 20  # longer side scaled to 20 px
    assert abs(ys.mean() - 13.5) <= 1 and abs(xs.mean() - 13.5) <= 1
    assert any("inverted" in n for n in notes)
    with pytest.raises(InputError, match="No digit found"):
        digit_to_28(np.ones((30, 30), np.float32))


def test_prepare_imagenet_crops_and_normalises(step_image):
    img = load_image(png_bytes(np.full((300, 400, 3), 255, np.uint8)))
    x, shown, _ = prepare_image(img, IMAGENET_PRE)
    assert x.shape == (3, 224, 224) and shown.shape == (224, 224, 3)
    expected = (1.0 - np.array(IMAGENET_PRE.mean)) / np.array(IMAGENET_PRE.std)
    np.testing.assert_allclose(x[:, 100, 100], expected, rtol=1e-5)


def test_prepare_digit_gives_28x28(step_image):
    x, shown, notes = prepare_image(load_image(png_bytes(step_image)), DIGITS_PRE)
    assert x.shape == (1, 28, 28) and shown.shape == (28, 28)
    assert x.min() == pytest.approx(-1.0)  # black background after (x - 0.5) / 0.5


def test_image_channel_picks_a_channel_and_downscales_with_a_note():
    from nnviz.inputs import image_channel

    rgb = np.zeros((10, 20, 3), np.float32)
    rgb[..., 0] = 1.0  # pure red
    red, note = image_channel(rgb, "red", 64)
    assert note is None and red.shape == (10, 20) and red.min() == 1.0
    gray, _ = image_channel(rgb, "gray", 64)
    np.testing.assert_allclose(gray, 0.299, rtol=1e-6)  # ITU-R 601 luma of red
    small, note = image_channel(rgb, "blue", 10)
    assert small.shape == (5, 10) and note == "computed on the image downscaled from 20×10 to 10×5"
