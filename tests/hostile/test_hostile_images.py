"""Hostile and odd image files through nnviz.inputs.load_image (and nnviz.run): each one is either
converted correctly (values checked) or refused with one sentence that names the file."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nnviz
from nnviz import inputs
from nnviz.inputs import InputError, load_image
from tests.hostile.conftest import HTML, SVG, assert_sentence, save

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
RED = (200, 10, 10)


def png(size=(64, 48), colour=RED) -> bytes:
    return save(Image.new("RGB", size, colour), "PNG")


def noisy_jpeg() -> bytes:
    rng = np.random.default_rng(0)
    return save(Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)), "JPEG")


def png_claiming(w: int, h: int) -> bytes:
    """A valid PNG signature and header that claim w x h pixels, and no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


NOT_READABLE = "is not an image nnviz can read (PNG, JPEG, WebP, BMP or GIF)"

REFUSED = {
    "zero bytes": (lambda: b"", ["upload.png is empty (0 bytes)"]),
    "PNG cut in half": (lambda: png()[: len(png()) // 2], ["damaged or truncated"]),
    "PNG signature and header only": (lambda: png()[:33], [NOT_READABLE]),
    "JPEG cut in half": (lambda: noisy_jpeg()[: len(noisy_jpeg()) // 2], ["damaged or truncated"]),
    "JPEG cut inside its header": (lambda: noisy_jpeg()[:100], ["damaged or truncated"]),
    "HTML renamed .png": (lambda: HTML, [NOT_READABLE]),
    "SVG with a script renamed .png": (lambda: SVG, [NOT_READABLE]),
    "PDF renamed .png": (lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", [NOT_READABLE]),
    "TIFF": (lambda: save(Image.new("RGB", (16, 16)), "TIFF"), ["is a TIFF image; please use PNG, JPEG, WebP, BMP or GIF"]),
    "ICO": (lambda: save(Image.new("RGB", (16, 16)), "ICO"), ["ICO image; please use PNG"]),
    "PNG bomb: 64 M pixels in a few kB": (lambda: save(Image.new("1", (8000, 8000)), "PNG"),
                                          ["claims too many pixels (over 50 million)", "decompression bomb"]),
    "GIF bomb: 100 M pixels": (lambda: save(Image.new("P", (10000, 10000)), "GIF"), ["decompression bomb"]),
    "PNG header claiming 10^10 pixels": (lambda: png_claiming(100_000, 100_000), ["decompression bomb"]),
    "1x1": (lambda: png((1, 1)), ["upload.png is 1x1 pixels; images need at least 4 pixels on each side"]),
    "1x5000": (lambda: png((1, 5000)), ["1x5000 pixels"]),
    "5000x1": (lambda: png((5000, 1)), ["5000x1 pixels"]),
    "4x81: just over 20:1": (lambda: png((4, 81)), ["4x81: more than 20 times wider than tall", "crop it"]),
    "30 MB, over the 25 MB cap": (lambda: png() + b"\0" * (30 * 2**20), ["upload.png is 30 MB; images up to 25 MB"]),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_with_one_sentence(case):
    make, words = REFUSED[case]
    with pytest.raises(InputError) as e:
        load_image(make(), "upload.png")
    assert_sentence(e.value, "upload.png", *words)


def test_a_file_just_over_the_cap_says_by_how_much():
    with pytest.raises(InputError) as e:
        load_image(b"\0" * (inputs.MAX_BYTES + 1), "upload.png")
    assert "is 25 MB; images up to 25 MB" not in str(e.value)


def test_polyglot_png_with_html_appended_is_read_as_its_pixels_only():
    img = load_image(png() + HTML, "upload.png")
    assert img.size == (64, 48) and img.notes == []
    np.testing.assert_allclose(img.rgb[10, 10], np.array(RED) / 255, atol=1e-6)


def test_gif_with_a_zip_appended_is_read_as_the_gif():
    img = load_image(save(Image.new("RGB", (16, 16), (0, 0, 255)), "GIF") + b"PK\x03\x04" + b"\0" * 60)
    assert img.size == (16, 16)
    np.testing.assert_allclose(img.rgb[8, 8], [0, 0, 1])


def test_16bit_grayscale_uses_its_whole_range():
    a = np.array([[60000, 62000], [64000, 65535]], np.uint16).repeat(4, 0).repeat(4, 1)
    img = load_image(save(Image.fromarray(a), "PNG"))
    assert img.rgb[0, 0, 0] == 0.0 and img.rgb[-1, -1, 0] == pytest.approx(1.0)
    assert img.rgb[0, -1, 0] == pytest.approx(2000 / 5535, abs=1e-6)
    assert img.notes == ["16-bit grayscale rescaled to its own range"]


def test_flat_16bit_image_becomes_black_not_nan():
    img = load_image(save(Image.fromarray(np.full((8, 8), 3000, np.uint16)), "PNG"))
    assert np.all(img.rgb == 0.0)


def test_cmyk_jpeg_becomes_rgb():
    img = load_image(save(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"))  # pure red ink
    assert img.rgb[8, 8, 0] > 0.9 and img.rgb[8, 8, 1] < 0.15 and img.rgb[8, 8, 2] < 0.15
    assert img.notes == ["converted from CMYK"]


def test_palette_png_gets_its_palette_colours():
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    img = load_image(save(pal, "PNG"))
    np.testing.assert_allclose(img.rgb[0, 0], np.array([10, 200, 30]) / 255, atol=1e-6)
    assert img.notes == []


def test_palette_transparency_and_alpha_are_composited_on_white():
    img = load_image(save(Image.new("P", (8, 8), 0), "PNG", transparency=0))
    assert np.all(img.rgb == 1.0) and img.notes == ["transparent areas shown on white"]
    half = load_image(save(Image.new("RGBA", (8, 8), (255, 0, 0, 128)), "PNG"))
    np.testing.assert_allclose(half.rgb[4, 4], [1.0, 127 / 255, 127 / 255], atol=1 / 255)
    la = load_image(save(Image.new("LA", (8, 8), (0, 0)), "PNG"))  # black, fully transparent
    assert np.all(la.rgb == 1.0)


@pytest.mark.parametrize("fmt,extra", [("GIF", {"duration": 50}), ("PNG", {}), ("WEBP", {"lossless": True})])
def test_animated_image_shows_its_first_frame(fmt, extra):
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    img = load_image(save(frames[0], fmt, save_all=True, append_images=frames[1:], **extra))
    np.testing.assert_allclose(img.rgb[8, 8], [1, 0, 0], atol=1 / 255)
    assert img.notes == ["animated image: showing its first of 3 frames"]


def exif_photo(orientation: int) -> bytes:
    """40 wide x 20 tall, red in its 4 leftmost columns, tagged with an EXIF orientation."""
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :4] = (255, 0, 0)
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = orientation
    return save(im, "JPEG", exif=exif, quality=95)


@pytest.mark.parametrize("orientation,size,red_side", [
    (3, (40, 20), "right"),  # turned 180 degrees
    (6, (20, 40), "top"),  # turned 90 degrees clockwise to display: the left edge goes up
    (8, (20, 40), "bottom"),  # turned 90 degrees counter-clockwise
])
def test_exif_rotation_is_applied(orientation, size, red_side):
    img = load_image(exif_photo(orientation))
    assert img.size == size
    red = img.rgb[..., 0]
    edges = {"top": red[:3].mean(), "bottom": red[-3:].mean(), "left": red[:, :3].mean(), "right": red[:, -3:].mean()}
    assert edges[red_side] > 0.9 and sum(v > 0.5 for v in edges.values()) == 1, edges
    assert img.notes == ["rotated upright using the photo's EXIF orientation"]


def test_invalid_exif_orientation_is_not_reported_as_a_rotation():
    img = load_image(exif_photo(0))
    assert img.size == (40, 20)
    assert img.notes == []


def test_exif_rotated_digit_gives_the_same_prediction_as_the_upright_one():
    upright = (SAMPLES / "digit_7.png").read_bytes()
    stored = Image.open(SAMPLES / "digit_7.png").rotate(90, expand=True)  # as a phone stores it
    exif = stored.getexif()
    exif[0x0112] = 6
    a, b = nnviz.run("lenet5", upright), nnviz.run("lenet5", save(stored, "PNG", exif=exif))
    assert b.labels[int(b.output.argmax())] == "7"
    np.testing.assert_allclose(b.output, a.output, atol=1e-5)
    assert b.notes[0] == "rotated upright using the photo's EXIF orientation"


def test_a_blank_page_for_the_digit_model_gets_a_sentence():
    with pytest.raises(InputError) as e:
        nnviz.run("lenet5", png((64, 64), (255, 255, 255)))
    assert_sentence(e.value, "No digit found")


def test_boundary_shapes_are_accepted():
    tall = load_image(png((4, 80)))  # exactly 20:1 and the minimum side
    assert tall.size == (4, 80)
    wide = load_image(png((8000, 400)))  # 20:1, 3.2 M pixels: downscaled to the working size at once
    assert wide.size == (2048, 102)
    assert wide.notes == ["downscaled from 8000×400 to 2048×102 pixels (width × height)"]
    np.testing.assert_allclose(wide.rgb[50, 1000], np.array(RED) / 255, atol=1 / 255)


def test_one_bit_bmp_and_lossless_webp_keep_their_values():
    assert np.all(load_image(save(Image.new("1", (8, 8), 1), "PNG")).rgb == 1.0)
    np.testing.assert_allclose(load_image(save(Image.new("RGB", (8, 8), (1, 2, 3)), "BMP")).rgb[0, 0],
                               np.array([1, 2, 3]) / 255, atol=1e-7)
    np.testing.assert_allclose(load_image(save(Image.new("RGB", (8, 8), (10, 20, 30)), "WEBP", lossless=True)).rgb[0, 0],
                               np.array([10, 20, 30]) / 255, atol=1e-7)
