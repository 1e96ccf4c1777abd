"""What every training script shares: where weights go, how they are saved, bits per character."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from ..weights import HERE

WEIGHTS_DIR = HERE  # training writes where the app loads shipped files from


def save_weights(model: torch.nn.Module, path: Path, result: dict) -> None:
    """The state dict as safetensors, with the run's record (minus the loss curve) as metadata,
    so a shipped file says how it was made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    meta = {k: json.dumps(v) for k, v in result.items() if k != "losses"}
    save_file(sd, str(path), metadata=meta)


def bits_per_char(model: torch.nn.Module, ids: np.ndarray, seq: int, batch: int = 64) -> float:
    """Mean -log2 P(next char) over `ids`, in chunks of `seq` predictions each starting afresh
    (zero state / empty context). `model(x)` maps (B, T) ids to (B, T, V) logits."""
    n = (len(ids) - 1) // seq * seq
    x = torch.from_numpy(ids[:n]).view(-1, seq)  # (N, seq)
    y = torch.from_numpy(ids[1 : n + 1]).view(-1, seq)
    total = 0.0
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            logits = model(x[i : i + batch])  # (b, seq, V)
            total += float(F.cross_entropy(logits.flatten(0, 1), y[i : i + batch].flatten(), reduction="sum"))
    return total / n / math.log(2)
