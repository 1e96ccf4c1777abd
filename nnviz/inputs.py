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


def _size(n: int, cap: int) -> str:
    """A size next to its cap, never rounded to look equal to it."""
    mb = n / 2**20
    return f"{mb:.0f} MB" if round(mb) != cap // 2**20 else f"{n - cap:,} bytes over {cap // 2**20} MB"


def load_image(data: bytes, name: str = "the file") -> LoadedImage:
    """Bytes of an uploaded file -> RGB float image, or InputError."""
    if not data:
        raise InputError(f"{name} is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise InputError(f"{name} is {_size(len(data), MAX_BYTES)}; images up to {MAX_BYTES // 2**20} MB are accepted.")
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
        notes.append(f"downscaled from {w}×{h} to {size[0]}×{size[1]} pixels (width × height)")
    return LoadedImage(np.ascontiguousarray(rgb, dtype=np.float32), notes)


def _exif_rotated(img: Image.Image) -> bool:
    try:
        return img.getexif().get(0x0112, 1) in range(2, 9)  # 2..8 rotate or flip; 0 and 9+ are invalid: nothing to do
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


def as_image(raw, name: str = "the image") -> LoadedImage:
    """What a user or a notebook has -> LoadedImage: file bytes, a Pillow image, an (H, W) or
    (H, W, 3) array (uint8 0..255 or float 0..1), or a LoadedImage. Files get every check of
    `load_image`; arrays must be finite."""
    if isinstance(raw, LoadedImage):
        return raw
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return load_image(bytes(raw), name)
    if isinstance(raw, Image.Image):
        buf = io.BytesIO()
        raw.save(buf, format="PNG")
        return load_image(buf.getvalue(), name)
    a = np.asarray(raw)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or min(a.shape[:2]) < MIN_SIDE:
        raise InputError(f"{name} must be an (H, W) or (H, W, 3) array of at least {MIN_SIDE} pixels a side; got shape {a.shape}.")
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise InputError(f"{name} contains NaN or infinite values.")
    a = np.clip(a, 0.0, 1.0)
    a = np.repeat(a[..., None], 3, 2) if a.ndim == 2 else a[..., :3]
    return LoadedImage(np.ascontiguousarray(a))


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


CHANNELS = ("gray", "red", "green", "blue")


def image_channel(rgb: np.ndarray, channel: str, max_side: int) -> tuple[np.ndarray, str | None]:
    """One channel of an RGB image ("gray" = luma) as float32 in [0, 1], at most `max_side` on its
    longer side. Returns (channel, a note when it was downscaled, else None)."""
    a = to_gray(rgb) if channel == "gray" else rgb[..., CHANNELS.index(channel) - 1]
    h, w = a.shape
    if max(h, w) <= max_side:
        return np.ascontiguousarray(a, np.float32), None
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.clip(resize(a, size), 0, 1), f"computed on the image downscaled from {w}×{h} to {size[0]}×{size[1]}"


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


# --- text for the recurrent models --------------------------------------------------------------

import csv as _csv  # noqa: E402  (this section was added after the image part)
import re as _re  # noqa: E402
from datetime import datetime as _datetime  # noqa: E402

TEXT_CAP = 2000  # characters a text view runs on (states for 2,000 characters take well under a second)
# What the character models can read: newline and printable ASCII (nnviz.models.recurrent.VOCAB
# without its unknown symbol; a test keeps the two equal).
TEXT_CHARS = "\n" + "".join(chr(i) for i in range(32, 127))
_TYPOGRAPHIC = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...", "\u00a0": " ", "\u202f": " ", "\u2009": " ",
}


def clean_text(text: str | None, cap: int = TEXT_CAP, vocab: str | None = None) -> tuple[str, list[str]]:
    """Text typed or pasted by a user -> (text the model will read, notes for the user).

    Line endings become "\\n", tabs four spaces, typographic quotes, dashes and non-breaking
    spaces their ASCII twins; text longer than `cap` is cut with a note; characters outside
    `vocab` (default TEXT_CHARS) are kept (the model maps them to its unknown symbol) and named.
    Empty or all-whitespace text raises InputError.
    """
    if text is None or not text.strip():
        raise InputError("The text is empty: type or paste a few words or lines of code.")
    notes: list[str] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\t" in text:
        text = text.replace("\t", "    ")
        notes.append("tabs replaced by four spaces (the model learned from space-indented code)")
    if any(ch in _TYPOGRAPHIC for ch in text):
        text = "".join(_TYPOGRAPHIC.get(ch, ch) for ch in text)
        notes.append("typographic quotes, dashes and non-breaking spaces replaced by plain ASCII ones")
    if len(text) > cap:
        notes.append(f"the text has {len(text):,} characters; only the first {cap:,} are used")
        text = text[:cap]
    known = set(TEXT_CHARS if vocab is None else vocab)
    unknown: dict[str, int] = {}
    for ch in text:
        if ch not in known:
            unknown[ch] = unknown.get(ch, 0) + 1
    if unknown:
        n = sum(unknown.values())
        shown = ", ".join(repr(ch) if not ch.isprintable() or ch.isspace() else ch for ch in list(unknown)[:8])
        more = ", ..." if len(unknown) > 8 else ""
        verb = "are" if n > 1 else "is"
        notes.append(f"{n} character{'s' if n > 1 else ''} the model never saw ({shown}{more}) {verb} "
                     "read as the unknown symbol \ufffd")
    return text, notes


# --- time series from CSV files -----------------------------------------------------------------

CSV_MAX_BYTES = 20 * 1024 * 1024
CSV_MAX_ROWS = 100_000  # rows read from a CSV; later rows are dropped with a note
SERIES_MIN = 30  # values needed to train on 80% and test on 20% of a series
SERIES_MAX = 5_000  # values a model runs on (the step-by-step LSTM loop is Python): the last ones
_MISSING = {"", "na", "n/a", "nan", "null", "none", "-", "--", ".", "?", "#n/a", "missing"}
_NUMBER = _re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d",
                 "%Y-%m", "%Y/%m", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%b %d, %Y", "%d %b %Y",
                 "%B %d, %Y", "%Y%m%d")


@dataclass
class SeriesTable:
    """A parsed CSV: column names, each column's cells (strings), which columns hold numbers and
    which holds dates (or years) for the time axis."""

    columns: list[str]
    cells: dict[str, list[str]]  # column -> its cells, one per data row
    numeric: list[str]  # columns where most non-empty cells are numbers
    time_column: str | None = None  # a column of dates (or increasing years) for the x axis
    decimal: dict[str, str] = field(default_factory=dict)  # numeric column -> "." or ","
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(next(iter(self.cells.values()))) if self.cells else 0

    @property
    def value_columns(self) -> list[str]:
        """Numeric columns that can be forecast (not the time axis)."""
        return [c for c in self.numeric if c != self.time_column]

    def default_column(self) -> str | None:
        """A closing price, a value or a price column if there is one, else the first numeric one."""
        cols = self.value_columns
        for word in ("close", "value", "price"):
            for c in reversed(cols):
                if word in c.lower() and "adj" not in c.lower():
                    return c
        return cols[0] if cols else None


@dataclass
class Series:
    values: np.ndarray  # (T,) float32, finite
    index: list  # (T,) x-axis labels: ISO dates, years or row numbers
    index_name: str
    name: str
    notes: list[str] = field(default_factory=list)


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in _MISSING


def _strip_number(cell: str) -> str:
    """Remove what decorates a number: spaces and apostrophes (thousands separators), currency
    and percent signs."""
    s = cell.strip().replace("\u00a0", "").replace("\u202f", "").replace("\u2009", "").replace(" ", "").replace("'", "")
    return s.strip("$€£¥%")


def _guess_decimal(cells: list[str], delimiter: str) -> str:
    """'.' or ',' as the decimal mark of a column, from cells like 1,234.5 / 1.234,5 / 12,5."""
    dot_last = comma_last = comma_groups_of_3 = comma_other = 0
    for cell in cells[:2000]:
        s = _strip_number(cell)
        if "." in s and "," in s:
            if s.rfind(",") > s.rfind("."):
                comma_last += 1
            else:
                dot_last += 1
        elif "," in s:
            tail = s.rsplit(",", 1)[1]
            if len(tail) == 3 and s.count(",") >= 1 and delimiter == ",":
                comma_groups_of_3 += 1
            elif s.count(",") == 1:
                comma_other += 1
    if comma_last > dot_last:
        return ","
    if comma_other > 0 and dot_last == 0:
        return ","
    return "."


def _parse_number(cell: str, decimal: str) -> float | None:
    """A number or None. Thousands separators (',' '.' ' ' or apostrophe) are removed."""
    s = _strip_number(cell)
    if not s:
        return None
    neg = s.startswith("(") and s.endswith(")")
    if neg:
        s = s[1:-1]
    if decimal == ",":
        s = s.replace(".", "").replace(",", ".")
    else:
        s = s.replace(",", "")
    if not _NUMBER.match(s):
        return None
    v = float(s)
    return -v if neg else v


def _date_format(cells: list[str]) -> str | None:
    sample = [c.strip() for c in cells if not _is_missing(c)][:200]
    if not sample:
        return None
    for fmt in _DATE_FORMATS:
        ok = 0
        for c in sample:
            try:
                _datetime.strptime(c, fmt)
                ok += 1
            except ValueError:
                pass
        if ok >= 0.9 * len(sample) and (fmt != "%Y%m%d" or all(len(c) == 8 for c in sample)):
            return fmt
    return None


def _guess_delimiter(lines: list[str]) -> str:
    """The first of ';', tab, '|', ',' that splits every line into the same number (> 1) of
    fields. Semicolons win over commas because files that use a decimal comma separate with ';'."""
    for d in (";", "\t", "|", ","):
        widths = {len(r) for r in _csv.reader(lines, delimiter=d)}
        if len(widths) == 1 and widths.pop() > 1:
            return d
    for d in (";", "\t", "|"):  # ragged files: the one present on most lines
        if sum(d in ln for ln in lines) > 0.8 * len(lines):
            return d
    return ","


def read_series_csv(data: bytes, name: str = "the file") -> SeriesTable:
    """Bytes of an uploaded CSV -> SeriesTable, or InputError with one sentence.

    Handles a header row or none, ',' ';' tab or '|' delimiters, UTF-8 (with BOM) or Latin-1,
    thousands separators and decimal commas, missing-value markers (empty, NA, null, -), a
    date or year column; more than CSV_MAX_ROWS rows are cut with a note.
    """
    if not data or not data.strip():
        raise InputError(f"{name} is empty.")
    if len(data) > CSV_MAX_BYTES:
        raise InputError(f"{name} is {_size(len(data), CSV_MAX_BYTES)}; CSV files up to {CSV_MAX_BYTES // 2**20} MB are accepted.")
    notes: list[str] = []
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a byte-order mark (Excel's "Unicode text")
        try:
            data = data.decode("utf-16").encode("utf-8")
            notes.append("read as UTF-16")
        except UnicodeDecodeError:
            raise InputError(f"{name} claims to be UTF-16 text but cannot be decoded.") from None
    if b"\x00" in data[:4096]:
        raise InputError(f"{name} is not a text CSV file (it contains binary data).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        notes.append("read as Latin-1 (the file is not UTF-8)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        raise InputError(f"{name} is empty.")
    if len(lines) > CSV_MAX_ROWS + 1:  # keep the first line (maybe a header) and the newest rows
        notes.append(f"the file has {len(lines) - 1:,} rows; only the last {CSV_MAX_ROWS:,} are read")
        lines = lines[:1] + lines[-CSV_MAX_ROWS:]
    try:
        delimiter = _guess_delimiter(lines[:50])
        rows = list(_csv.reader(lines, delimiter=delimiter))
    except _csv.Error as e:  # e.g. one field over the csv module's 131,072-character limit
        raise InputError(f"{name} cannot be read as CSV ({e}): put one value per row, a column per series.") from None
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]

    def numeric_cells(r: list[str]) -> int:
        return sum(_parse_number(c, ".") is not None or _parse_number(c, ",") is not None for c in r)

    first_is_names = numeric_cells(rows[0]) == 0 and all(c.strip() for c in rows[0])
    has_header = first_is_names or (len(rows) > 1 and numeric_cells(rows[0]) < max(numeric_cells(r) for r in rows[1:6]))
    if has_header:
        header = [c.strip() or f"column {i + 1}" for i, c in enumerate(rows[0])]
        body = rows[1:]
    else:
        header = [f"column {i + 1}" for i in range(width)]
        body = rows
    seen: dict[str, int] = {}
    for i, h in enumerate(header):  # duplicate names get a suffix, so a column is one choice
        if h in seen:
            seen[h] += 1
            header[i] = f"{h} ({seen[h]})"
        else:
            seen[h] = 1
    if not body:
        raise InputError(f"{name} has a header but no data rows.")
    cells = {h: [r[i] for r in body] for i, h in enumerate(header)}

    numeric, decimal = [], {}
    for h, col in cells.items():
        present = [c for c in col if not _is_missing(c)]
        if not present:
            continue
        dec = _guess_decimal(present, delimiter)
        ok = sum(_parse_number(c, dec) is not None for c in present)
        if ok >= 0.8 * len(present):
            numeric.append(h)
            decimal[h] = dec
    time_column = None
    for h, col in cells.items():
        if h not in numeric and _date_format(col):
            time_column = h
            break
    if time_column is None:  # a column of increasing whole numbers named like a year or date
        for h in numeric:
            if any(w in h.lower() for w in ("year", "date", "time", "month", "day", "period")):
                vals = [_parse_number(c, decimal[h]) for c in cells[h]]
                if all(v is not None and float(v).is_integer() for v in vals) and all(
                        b > a for a, b in zip(vals, vals[1:])):
                    time_column = h
                    break
    if not [c for c in numeric if c != time_column]:
        raise InputError(f"{name} has no column of numbers to forecast"
                         + (f" (its columns: {', '.join(header[:6])})." if header else "."))
    return SeriesTable(header, cells, numeric, time_column, decimal, notes)


def series_from_column(table: SeriesTable, column: str, max_len: int = SERIES_MAX,
                       min_len: int = SERIES_MIN) -> Series:
    """One numeric column -> a clean Series in time order, or InputError.

    Leading and trailing missing values are dropped, inner ones filled by linear interpolation
    (with a note); rows are sorted by the time column when it runs backwards (newest first);
    only the last `max_len` values are kept (with a note)."""
    if column not in table.cells:
        raise InputError(f"There is no column named {column!r}.")
    if column not in table.numeric:
        raise InputError(f"Column {column!r} does not hold numbers; pick a numeric column.")
    notes: list[str] = []
    dec = table.decimal.get(column, ".")
    raw = table.cells[column]
    vals = np.array([np.nan if (v := _parse_number(c, dec)) is None else v for c in raw], dtype=np.float64)
    bad = sum(1 for c in raw if not _is_missing(c) and _parse_number(c, dec) is None)
    if bad:
        notes.append(f"{bad} cell{'s' if bad > 1 else ''} in {column!r} that are not numbers treated as missing")
    if dec == ",":
        notes.append(f"{column!r} uses a decimal comma")
    index: list = list(range(len(vals)))
    index_name = "row"
    if table.time_column is not None:
        tcol = table.cells[table.time_column]
        fmt = _date_format(tcol)
        keys: list = []
        for c in tcol:
            try:
                keys.append(_datetime.strptime(c.strip(), fmt) if fmt else float(_parse_number(c, ".")))
            except (ValueError, TypeError):
                keys.append(None)
        if all(k is not None for k in keys):
            index_name = table.time_column
            order = sorted(range(len(keys)), key=lambda i: keys[i])
            if order != list(range(len(keys))):
                notes.append(f"rows sorted by {table.time_column!r} (the file was not in time order)")
                vals, keys = vals[order], [keys[i] for i in order]
            index = [k.isoformat(sep=" ").removesuffix(" 00:00:00") if fmt else int(k) for k in keys]
    if np.isinf(vals).any():  # 1e400 parses as inf: too large, not missing
        raise InputError(f"Column {column!r} holds numbers too large to model (beyond {np.finfo(np.float64).max:.1e}).")
    finite = np.isfinite(vals)
    if not finite.any():
        raise InputError(f"Column {column!r} has no numbers in it.")
    first, last = int(np.argmax(finite)), len(vals) - int(np.argmax(finite[::-1]))
    if first > 0 or last < len(vals):
        notes.append(f"{first + len(vals) - last} empty value(s) at the start or end dropped")
    vals, index = vals[first:last], index[first:last]
    missing = ~np.isfinite(vals)
    if missing.mean() > 0.5:
        raise InputError(f"Column {column!r} is mostly empty ({int(missing.sum())} of {len(vals)} values missing).")
    if missing.any():
        t = np.arange(len(vals))
        vals[missing] = np.interp(t[missing], t[~missing], vals[~missing])
        notes.append(f"{int(missing.sum())} missing value(s) filled by linear interpolation between their neighbours")
    if len(vals) > max_len:
        notes.append(f"the series has {len(vals):,} values; the model uses the last {max_len:,}")
        vals, index = vals[-max_len:], index[-max_len:]
    if len(vals) < min_len:
        raise InputError(f"Column {column!r} has only {len(vals)} value{'s' if len(vals) != 1 else ''}; at least {min_len} are needed "
                         "to train a forecaster on 80% and test it on the rest.")
    if np.abs(vals).max() > 1e30:
        raise InputError(f"Column {column!r} holds numbers too large to model (up to {np.abs(vals).max():.1e}).")
    return Series(vals.astype(np.float32), index, index_name, column, table.notes + notes)
