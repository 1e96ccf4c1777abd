import threading

import numpy as np
import pytest
import torch
from torch import nn

import nnviz
from nnviz.capture import capture, default_layers, forwards_run


@pytest.fixture(scope="module")
def lenet():
    return nnviz.load_model("lenet5")


def test_captured_maps_equal_direct_computation(lenet):
    x = torch.randn(1, 1, 28, 28)
    trace = capture(lenet, x)
    with torch.inference_mode():
        conv = lenet.features[0](x)[0].numpy()
        pooled = lenet.features[2](torch.relu(lenet.features[0](x)))[0].numpy()
    np.testing.assert_allclose(trace["features.0"].output, conv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(trace["features.2"].output, pooled, rtol=1e-5, atol=1e-6)
    # pooling keeps its input for the before/after view
    np.testing.assert_allclose(trace["features.2"].input, np.maximum(conv, 0), rtol=1e-5, atol=1e-6)
    assert trace["features.0"].module_type == "Conv2d" and trace["features.0"].shape == (6, 28, 28)
    assert trace.names == default_layers(lenet)


def test_hooks_removed_after_success_and_failure(lenet):
    capture(lenet, torch.randn(1, 1, 28, 28))
    assert all(not m._forward_hooks for m in lenet.modules())
    with pytest.raises(RuntimeError):
        capture(lenet, torch.randn(1, 3, 28, 28))  # wrong channel count fails inside forward
    assert all(not m._forward_hooks for m in lenet.modules())


def test_selected_layers_only_and_unknown_layer(lenet):
    trace = capture(lenet, torch.randn(1, 1, 28, 28), layers=["features.3"])
    assert trace.names == ["features.3"]
    with pytest.raises(KeyError, match="no layer named 'features.99'"):
        capture(lenet, torch.randn(1, 1, 28, 28), layers=["features.99"])


def test_resnet_default_layers_include_residual_parts():
    m = nnviz.load_model("resnet18", weights="random")
    names = default_layers(m)
    assert {"conv1", "maxpool", "layer1.0", "layer1.0.bn2", "layer2.0.downsample", "fc"} <= set(names)
    trace = capture(m, torch.randn(1, 3, 64, 64))
    blk = trace["layer2.0"]
    f, sc = trace["layer2.0.bn2"].output, trace["layer2.0.downsample"].output
    np.testing.assert_allclose(blk.output, np.maximum(f + sc, 0), rtol=1e-4, atol=1e-5)
    assert blk.input.shape == (64, 16, 16)



def test_mobilenet_v2_layers_depthwise_and_residual_parts():
    import torch.nn.functional as F

    m = nnviz.load_model("mobilenet_v2", weights="random")  # the capture, not the weights, is under test
    names = default_layers(m)
    # block 3 (24 -> 24, stride 1) has a shortcut: its output, F(x) (`conv`), expand, depthwise, project
    assert {"features.0.0", "features.3", "features.3.conv", "features.3.conv.0.0", "features.3.conv.1.0",
            "features.3.conv.2", "features.18.0", "avgpool", "classifier.1"} <= set(names)
    assert "features.2" in names and "features.2.conv" not in names  # stride 2: no shortcut, no F(x) layer
    assert len([n for n in names if m.get_submodule(n).__class__.__name__ == "InvertedResidual"]) == 17
    trace = capture(m, torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)))
    assert trace.names == names
    assert trace["features.2"].input is None and trace["features.3"].input.shape == (24, 16, 16)

    blk = m.features[3]
    dw = blk.conv[1][0]
    assert dw.groups == dw.in_channels == dw.out_channels == trace["features.3.conv.1.0"].shape[0] == 144
    # depthwise: channel k of the output is channel k of the input convolved with kernel k alone
    with torch.inference_mode():
        e = torch.from_numpy(trace["features.3.conv.0.0"].output)[None]  # expand conv: (1, 144, 16, 16)
        h = blk.conv[0][2](blk.conv[0][1](e))  # its BN and ReLU6: the depthwise conv's input
        one = F.conv2d(h[:, 7:8], dw.weight[7:8], padding=1)  # (1, 1, 16, 16)
        fx = blk.conv[3](torch.from_numpy(trace["features.3.conv.2"].output)[None])[0]  # BN of the projection
    np.testing.assert_allclose(trace["features.3.conv.1.0"].output[7], one[0, 0].numpy(), rtol=1e-4, atol=1e-5)
    # F(x) is the projection's batch norm, and the block's output is exactly F(x) + x (no ReLU after the sum)
    np.testing.assert_allclose(trace["features.3.conv"].output, fx.numpy(), rtol=1e-5, atol=1e-6)
    blk3 = trace["features.3"]
    np.testing.assert_allclose(blk3.output, trace["features.3.conv"].output + blk3.input, rtol=1e-6, atol=1e-6)
    assert (blk3.output < 0).any()  # a ReLU after the sum would leave no negative values

def test_two_threads_sharing_one_model_get_their_own_maps(lenet):
    xs = [torch.full((1, 1, 28, 28), float(v)) for v in (-1.0, 2.0)]
    expected = [capture(lenet, x)["features.0"].output for x in xs]
    results: dict[int, list] = {0: [], 1: []}
    barrier = threading.Barrier(2)

    def work(i):
        barrier.wait()
        for _ in range(20):
            results[i].append(capture(lenet, xs[i])["features.0"].output)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    for i in (0, 1):
        assert len(results[i]) == 20
        for r in results[i]:
            np.testing.assert_array_equal(r, expected[i])


def test_forward_in_another_thread_does_not_leak_into_a_capture():
    # A model whose forward lets another thread run the same model mid-capture.
    class Slow(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            if x[0, 0] == 0:
                t = threading.Thread(target=lambda: self.lin(torch.ones(1, 2)))
                t.start()
                t.join()
            return self.lin(x)

    m = Slow()
    x = torch.zeros(1, 2)
    trace = capture(m, x, layers=["lin"])
    np.testing.assert_allclose(trace["lin"].output, m.lin(x)[0].detach().numpy())


def test_forward_count_increments(lenet):
    before = forwards_run()
    capture(lenet, torch.randn(1, 1, 28, 28))
    assert forwards_run() == before + 1


class _TorchvisionStyleBlock(nn.Module):
    """Written as torchvision writes ResNet: ReLU(inplace=True) and `out += identity`."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.conv(x)
        out = self.relu(out)  # overwrites the conv's output tensor
        out += x  # and again
        return out


def _block_and_its_conv(batch: int = 1):
    """A seeded torchvision-style block, an input, and what its conv returns for batch item 0."""
    torch.manual_seed(0)
    m = _TorchvisionStyleBlock().eval()
    x = torch.randn(batch, 2, 5, 5)
    with torch.inference_mode():
        conv = m.conv(x)[0].clone().numpy()
    return m, x, conv


def test_in_place_models_get_the_maps_their_layers_returned():
    m, x, conv = _block_and_its_conv()
    assert (conv < 0).any()  # else ReLU would change nothing and the test could not fail
    trace = capture(m, x, layers=["conv"])
    np.testing.assert_allclose(trace["conv"].output, conv, rtol=1e-6)  # the conv's own output, negatives kept
    shared = capture(m, x, layers=["conv"], copy=False)  # what not copying would have shown
    assert not np.allclose(shared["conv"].output, conv)


def test_nnviz_models_skip_the_copy_and_declare_it(lenet):
    assert lenet.inplace_free
    assert not any(getattr(mod, "inplace", False) for mod in lenet.modules())


class _BnThenInplaceRelu(nn.Module):
    """torchvision's conv -> bn -> ReLU(inplace=True): the ReLU overwrites the bn's output, never the conv's."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


def test_only_overwritten_layers_cost_a_second_forward():
    torch.manual_seed(1)
    m = _BnThenInplaceRelu().eval()
    x = torch.randn(1, 2, 6, 6)
    with torch.inference_mode():
        conv = m.conv(x)[0].clone().numpy()
        bn = m.bn(m.conv(x))[0].clone().numpy()
    assert (bn < 0).any()
    before = forwards_run()
    trace = capture(m, x, layers=["conv"])  # references kept, nothing overwritten: one forward, no copy
    assert forwards_run() == before + 1
    np.testing.assert_allclose(trace["conv"].output, conv, rtol=1e-6)
    trace = capture(m, x, layers=["conv", "bn"])  # the ReLU wrote over bn's output: run again, copying bn
    assert forwards_run() == before + 3
    np.testing.assert_allclose(trace["conv"].output, conv, rtol=1e-6)
    np.testing.assert_allclose(trace["bn"].output, bn, rtol=1e-6)  # negatives kept


def test_in_place_block_costs_two_forwards_and_forced_copy_one():
    m = _TorchvisionStyleBlock().eval()
    x = torch.randn(1, 2, 5, 5)
    before = forwards_run()
    capture(m, x, layers=["conv"])
    assert forwards_run() == before + 2  # overwritten seen by the version counter, then copied
    capture(m, x, layers=["conv"], copy=True)
    assert forwards_run() == before + 3


def test_batch_of_several_keeps_item_0_and_copies_only_it():
    m, x, conv = _block_and_its_conv(batch=3)
    trace = capture(m, x, layers=["conv"], copy=True)
    np.testing.assert_allclose(trace["conv"].output, conv, rtol=1e-6)
    assert trace["conv"].output.shape == (2, 5, 5)


def test_capture_called_inside_inference_mode_still_sees_overwrites():
    # Inference tensors have no version counter; capture must not depend on the caller's mode.
    m, x, conv = _block_and_its_conv()
    with torch.inference_mode():
        trace = capture(m, x.clone(), layers=["conv"])
    np.testing.assert_allclose(trace["conv"].output, conv, rtol=1e-6)


def test_a_module_used_twice_answers_to_both_names_however_many_layers_are_asked():
    shared = nn.Conv2d(1, 1, 1)
    m = nn.Sequential(shared, nn.ReLU(), *[nn.Conv2d(1, 1, 1) for _ in range(8)])
    m.alias = shared  # the same module under a second name
    x = torch.randn(1, 1, 4, 4)
    few = capture(m, x, layers=["alias"])
    many = capture(m, x, layers=["alias", *[str(i) for i in range(2, 10)]])  # > 8 names: the other lookup
    np.testing.assert_allclose(few["alias"].output, many["alias"].output)
