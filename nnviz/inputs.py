"""Decoding and validating what users give us. The only module that trusts no one.

Every failure raises `InputError` with one sentence the UI shows as it is.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .types import InputError, Preprocess

MAX_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 50_000_000  # decompression-bomb guard: Pillow refuses to decode more than this
WORK_SIDE = 2048  # images are downscaled to this longer side at once: nothing shown needs more
MIN_SIDE = 4
MAX_ASPECT = 20.0
FORMATS = {"PNG", "JPEG", "MPO", "WEBP", "BMP", "GIF", "DIB"}
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]


@dataclass
class LoadedImage:
    rgb: np.ndarray  # (H, W, 3) float32 in [0, 1]
    notes: list[str] = field(default_factory=list)  # what was converted, for the user to see

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def load_image(data: bytes, name: str = "the file") -> LoadedImage:
    """Bytes of an uploaded file -> RGB float image, or InputError."""
    if not data:
        raise InputError(f"{name} is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise InputError(f"{name} is {len(data) / 2**20:.0f} MB; images up to {MAX_BYTES // 2**20} MB are accepted.")
    notes: list[str] = []
    old_limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in FORMATS:
                raise InputError(f"{name} is a {img.format} image; please use PNG, JPEG, WebP, BMP or GIF.")
            if getattr(img, "n_frames", 1) > 1:
                notes.append(f"animated image: showing its first of {img.n_frames} frames")
                img.seek(0)
            img.load()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{name} claims too many pixels (over {MAX_PIXELS // 1_000_000} million); refused as a possible decompression bomb.") from None
    except UnidentifiedImageError:
        raise InputError(f"{name} is not an image nnviz can read (PNG, JPEG, WebP, BMP or GIF).") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as e:
        raise InputError(f"{name} is damaged or truncated and cannot be decoded ({type(e).__name__}).") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit

    w, h = img.size
    if min(w, h) < MIN_SIDE:
        raise InputError(f"{name} is {w}x{h} pixels; images need at least {MIN_SIDE} pixels on each side.")
    if max(w, h) / min(w, h) > MAX_ASPECT:
        raise InputError(f"{name} is {w}x{h}: more than {MAX_ASPECT:.0f} times wider than tall (or taller than wide); please crop it.")

    if _exif_rotated(img):
        img = ImageOps.exif_transpose(img)
        notes.append("rotated upright using the photo's EXIF orientation")

    rgb = _to_rgb_array(img, notes)
    h, w = rgb.shape[:2]
    if max(h, w) > WORK_SIDE:
        scale = WORK_SIDE / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = Image.fromarray((rgb * 255).round().astype(np.uint8)).resize(size, Image.LANCZOS)
        rgb = np.asarray(small, dtype=np.float32) / 255.0
        notes.append(f"downscaled from {w}x{h} to {size[0]}x{size[1]}")
    return LoadedImage(np.ascontiguousarray(rgb, dtype=np.float32), notes)


def _exif_rotated(img: Image.Image) -> bool:
    try:
        return img.getexif().get(0x0112, 1) not in (1, None)
    except Exception:
        return False


def _to_rgb_array(img: Image.Image, notes: list[str]) -> np.ndarray:
    """Any Pillow mode -> (H, W, 3) float32 in [0, 1]; transparency composited over white."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        notes.append(f"{'16-bit' if mode.startswith('I;16') else 'high bit-depth'} grayscale rescaled to its own range")
        return np.repeat(a[..., None], 3, 2).astype(np.float32)
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        if np.asarray(rgba)[..., 3].min() < 255:
            notes.append("transparent areas shown on white")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    elif mode == "CMYK":
        notes.append("converted from CMYK")
    elif mode not in ("RGB", "L", "1"):
        notes.append(f"converted from {mode}")
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


# --- model inputs -------------------------------------------------------------------------------

def to_gray(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, as Pillow's convert('L')."""
    return (rgb[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)


def resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) or (H, W, 3) float in [0, 1] -> resized to size=(w, h), bilinear with antialiasing."""
    if a.ndim == 2:
        im = Image.fromarray(a.astype(np.float32), mode="F")
        return np.asarray(im.resize(size, Image.BILINEAR), dtype=np.float32)
    chans = [resize(a[..., i], size) for i in range(a.shape[2])]
    return np.stack(chans, axis=-1)


def scan_to_8x8(ink: np.ndarray) -> np.ndarray:
    """What the UCI digits scanner did: fit the digit in a 32x32 bitmap, then average 4x4 blocks.
    The shipped LeNet learned from such 8x8 scans, so a crisp drawing is reduced the same way
    (otherwise thin pen strokes look nothing like its training data)."""
    h, w = ink.shape
    s = 32.0 / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    box = np.zeros((32, 32), np.float32)
    top, left = (32 - nh) // 2, (32 - nw) // 2
    box[top : top + nh, left : left + nw] = np.clip(resize(ink, (nw, nh)), 0, 1)
    return box.reshape(8, 4, 8, 4).mean(axis=(1, 3))  # (8, 8)


def digit_to_28(gray: np.ndarray, notes: list[str] | None = None, scan: bool = True) -> np.ndarray:
    """MNIST-style framing: light ink on black, cropped to the ink, longer side 20 px, centred
    by centre of mass in 28x28. Shared by training and the app, so both see the same thing.

    scan: first reduce the cropped digit to an 8x8 scan like the training data (see
    `scan_to_8x8`); training passes False because its images already are such scans."""
    g = gray.astype(np.float32)
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    if border.mean() > 0.5:  # dark ink on light paper
        g = 1.0 - g
        if notes is not None:
            notes.append("inverted: light background detected (the model was trained on light ink on black)")
    g = g - np.median(border if border.mean() <= 0.5 else 1.0 - border)
    g = np.clip(g / (g.max() if g.max() > 0 else 1.0), 0, 1)
    ys, xs = np.nonzero(g > 0.2)
    if ys.size == 0:
        raise InputError("No digit found: draw or upload a digit on a plain background.")
    g = g[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    if scan:
        if notes is not None:
            notes.append("reduced to an 8x8 scan, like the handwritten digits the model learned from")
        return digit_to_28(scan_to_8x8(g), None, scan=False)
    h, w = g.shape
    s = 20.0 / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    g = np.clip(resize(g, (nw, nh)), 0, 1)
    out = np.zeros((28, 28), np.float32)
    total = g.sum()
    cy, cx = ((np.indices(g.shape) * g).reshape(2, -1).sum(1) / total) if total > 0 else (nh / 2, nw / 2)
    top = int(round(14 - cy)); left = int(round(14 - cx))
    top = min(max(top, 0), 28 - nh); left = min(max(left, 0), 28 - nw)
    out[top : top + nh, left : left + nw] = g
    return out


def prepare_image(img: LoadedImage, pre: Preprocess) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Apply a model's preprocessing. Returns (model input (C, H, W) float32 normalised,
    what the model sees as an image in [0, 1] ((H, W) or (H, W, 3)), notes)."""
    notes: list[str] = []
    rgb = img.rgb
    if pre.digit:
        shown = digit_to_28(to_gray(rgb), notes)
        chw = shown[None]
    else:
        a = to_gray(rgb) if pre.grayscale else rgb
        h, w = a.shape[:2]
        if pre.resize:
            s = pre.resize / min(h, w)
            a = resize(a, (max(pre.size, round(w * s)), max(pre.size, round(h * s))))
            h, w = a.shape[:2]
            top, left = (h - pre.size) // 2, (w - pre.size) // 2
            a = a[top : top + pre.size, left : left + pre.size]
        else:
            a = resize(a, (pre.size, pre.size))
        shown = np.clip(a, 0, 1)
        chw = shown[None] if shown.ndim == 2 else shown.transpose(2, 0, 1)
    mean = np.array(pre.mean, np.float32)[:, None, None]
    std = np.array(pre.std, np.float32)[:, None, None]
    return ((chw - mean) / std).astype(np.float32), shown.astype(np.float32), notes
