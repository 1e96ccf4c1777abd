"""Pre-fetch ImageNet weights before a lecture.

    python -m nnviz.weights list                      # which checkpoints are cached
    python -m nnviz.weights fetch resnet18 [alexnet]  # download into the torch hub cache
"""
from __future__ import annotations

import sys

from . import CHECKPOINTS, cached_checkpoint, download
from ..types import WeightsError


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("fetch", "list") or (argv[0] == "fetch" and len(argv) < 2):
        print(__doc__.strip())
        print("models with downloadable weights:", ", ".join(CHECKPOINTS))
        return 2
    if argv[0] == "list":
        argv = ["list", *(argv[1:] or CHECKPOINTS)]
    code = 0
    for name in argv[1:]:
        ck = CHECKPOINTS.get(name)
        if ck is None:
            print(f"{name}: no published weights (choose from {', '.join(CHECKPOINTS)})")
            code = 1
            continue
        have = cached_checkpoint(name)
        if have or argv[0] == "list":
            print(f"{name}: {'cached at ' + str(have) if have else 'not cached'} ({ck.size_mb} MB)")
            continue
        print(f"{name}: downloading {ck.url} ({ck.size_mb} MB) ...", flush=True)
        try:
            print(f"{name}: saved to {download(name)}")
        except WeightsError as e:
            print(f"{name}: {e}")
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
