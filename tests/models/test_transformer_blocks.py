"""nnviz's transformer blocks compute what PyTorch's own layers compute (pre-norm, GELU, dropout 0),
with the weights copied across: GPT's block and the translator's encoder layer equal
nn.TransformerEncoderLayer, its decoder layer nn.TransformerDecoderLayer."""
import pytest
import torch
from torch import nn

from nnviz.models.attention import causal_mask, padding_mask
from nnviz.models.gpt import GPTBlock, GPTConfig
from nnviz.models.seq2seq import DecoderLayer, EncoderLayer, Seq2SeqConfig

D, H, FF = 16, 4, 64


def _copy_attention(ours, ref: nn.MultiheadAttention) -> None:
    h = ours.heads
    ref.in_proj_weight.copy_(torch.cat([h.query.weight, h.key.weight, h.value.weight]))
    ref.in_proj_bias.copy_(torch.cat([h.query.bias, h.key.bias, h.value.bias]))
    ref.out_proj.weight.copy_(ours.proj.weight)
    ref.out_proj.bias.copy_(ours.proj.bias)


def _copy(dst: nn.Module, src: nn.Module) -> None:
    dst.weight.copy_(src.weight)
    dst.bias.copy_(src.bias)


def _randomise(m: nn.Module) -> None:
    # LayerNorm starts at weight 1, bias 0: random values make a wrong copy show
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.3)


def _encoder_ref(ours, attn_name: str) -> nn.TransformerEncoderLayer:
    ref = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
    with torch.no_grad():
        _copy_attention(getattr(ours, attn_name), ref.self_attn)
        _copy(ref.linear1, ours.mlp.c_fc)
        _copy(ref.linear2, ours.mlp.c_proj)
        _copy(ref.norm1, ours.ln_1)
        _copy(ref.norm2, ours.ln_2)
    return ref.eval()


def test_gpt_block_equals_a_causal_pre_norm_encoder_layer():
    torch.manual_seed(0)
    block = GPTBlock(GPTConfig(n_embd=D, n_head=H)).eval()
    assert block.mlp.c_fc.out_features == FF
    _randomise(block)
    ref = _encoder_ref(block, "attn")
    x = torch.randn(3, 9, D)  # (B, T, C)
    ours, internals = block(x, causal_mask(9))
    theirs = ref(x, src_mask=~causal_mask(9), is_causal=True)  # PyTorch's bool mask: True = blocked
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    assert float(internals.p_attn.detach()[..., 0, 1:].abs().max()) == 0.0  # the first query sees only itself


@pytest.mark.parametrize("pad", [0, 3])
def test_translator_encoder_layer_equals_encoder_layer_with_padding(pad):
    torch.manual_seed(1)
    cfg = Seq2SeqConfig(d_model=D, n_head=H, d_ff=FF)
    layer = EncoderLayer(cfg).eval()
    _randomise(layer)
    ref = _encoder_ref(layer, "self_attn")
    x = torch.randn(2, 8, D)
    real = torch.ones(2, 8, dtype=torch.long)
    real[1, 8 - pad :] = 0  # the second sequence ends in `pad` padding positions
    ours, _ = layer(x, padding_mask(real))
    theirs = ref(x, src_key_padding_mask=real == 0)
    keep = real.bool()  # padded positions' own outputs are not used by the model
    torch.testing.assert_close(ours[keep], theirs[keep], rtol=1e-5, atol=1e-5)


def test_translator_decoder_layer_equals_decoder_layer():
    torch.manual_seed(2)
    cfg = Seq2SeqConfig(d_model=D, n_head=H, d_ff=FF)
    layer = DecoderLayer(cfg).eval()
    _randomise(layer)
    ref = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
    with torch.no_grad():
        _copy_attention(layer.self_attn, ref.self_attn)
        _copy_attention(layer.cross_attn, ref.multihead_attn)
        _copy(ref.linear1, layer.mlp.c_fc)
        _copy(ref.linear2, layer.mlp.c_proj)
        for n, ln in ((ref.norm1, layer.ln_1), (ref.norm2, layer.ln_2), (ref.norm3, layer.ln_3)):
            _copy(n, ln)
    ref.eval()
    y, memory = torch.randn(2, 5, D), torch.randn(2, 7, D)
    src = torch.ones(2, 7, dtype=torch.long)
    src[0, 5:] = 0
    ours, self_int, cross_int = layer(y, memory, causal_mask(5), padding_mask(src))
    theirs = ref(y, memory, tgt_mask=~causal_mask(5), tgt_is_causal=True, memory_key_padding_mask=src == 0)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    assert float(cross_int.p_attn.detach()[0, :, :, 5:].abs().max()) == 0.0  # no query looks at source padding
