#!/usr/bin/env python3
"""Eager-PyTorch baseline for `vifi bench model`: OpenAI CLIP's module structure (written here,
after openai/CLIP's clip/model.py: nn.MultiheadAttention residual blocks on the LND layout,
QuickGELU, fp32 LayerNorm), driven the way ViFi-CLIP drives it. Same shapes, prompt ids,
threads, dtype, loss and optimiser as src/bench/model_benchmark.cpp; prints one RESULT line.

Inference runs under torch.no_grad(), as ViFi-CLIP's evaluation does; --inference-mode switches
to torch.inference_mode(). The text tower runs the trimmed context (max end-of-text + 1, the same
work as vifi) unless --text-context full asks for OpenAI's 77 positions.
"""
import argparse
import resource
import statistics
import time
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

SOT, EOT = 49406, 49407
ARCHS = {  # embed, resolution, vision layers, width, patch; text width, heads, layers
    "ViT-B/32": (512, 224, 12, 768, 32, 512, 8, 12),
    "ViT-B/16": (512, 224, 12, 768, 16, 512, 8, 12),
    "ViT-L/14": (768, 224, 24, 1024, 14, 768, 12, 12),
}


class LayerNorm(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(width * 4, width))]))
        self.ln_2 = LayerNorm(width)
        self.attn_mask = attn_mask

    def attention(self, x):
        mask = None
        if self.attn_mask is not None:
            n = x.shape[0]
            mask = self.attn_mask[:n, :n].to(dtype=x.dtype, device=x.device)
        return self.attn(x, x, x, need_weights=False, attn_mask=mask)[0]

    def forward(self, x):  # x: [L,N,W]
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, attn_mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, resolution, patch, width, layers, heads, output_dim):
        super().__init__()
        scale = width ** -0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((resolution // patch) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x):  # [N,3,R,R] -> [N,D]
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIP(nn.Module):
    def __init__(self, arch):
        super().__init__()
        embed, res, v_layers, v_width, patch, t_width, t_heads, t_layers = ARCHS[arch]
        self.context_length = 77
        self.visual = VisionTransformer(res, patch, v_width, v_layers, v_width // 64, embed)
        mask = torch.full((77, 77), float("-inf")).triu_(1)
        self.transformer = Transformer(t_width, t_layers, t_heads, attn_mask=mask)
        self.token_embedding = nn.Embedding(49408, t_width)
        self.positional_embedding = nn.Parameter(torch.randn(77, t_width) * 0.01)
        self.ln_final = LayerNorm(t_width)
        self.text_projection = nn.Parameter(torch.randn(t_width, embed) * t_width ** -0.5)
        self.logit_scale = nn.Parameter(torch.ones([]) * 4.6052)
        self.resolution = res

    def encode_text(self, tokens, trim):
        if trim:  # exact under the causal mask: the end-of-text output ignores later positions
            tokens = tokens[:, : int(tokens.argmax(-1).max()) + 1]
        x = self.token_embedding(tokens) + self.positional_embedding[: tokens.shape[1]]
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ self.text_projection


def logits_of(model, video, text):
    b, t = video.shape[:2]
    frames = model.visual(video.flatten(0, 1)).view(b, t, -1).mean(1)
    frames = frames / frames.norm(dim=-1, keepdim=True)
    text = text / text.norm(dim=-1, keepdim=True)
    return model.logit_scale.exp() * frames @ text.t()


def prompt_tokens(classes):  # the ids of vifi's synthetic_prompt_tokens
    tokens = torch.zeros(classes, 77, dtype=torch.long)
    for i in range(classes):
        words = 6 + i % 8
        tokens[i, 0] = SOT
        for j in range(1, words + 1):
            tokens[i, j] = 1 + (i * 131 + j * 7) % 49000
        tokens[i, words + 1] = EOT
    return tokens


def median_seconds(step, args, device):
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.iters):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def autocast(device, dtype):
    if dtype == torch.float32:
        return torch.autocast(device.type, enabled=False)
    return torch.autocast("cuda", dtype=dtype)


def time_inference(model, video, tokens, args, device, dtype, trim):
    model.eval()
    guard = torch.inference_mode if args.inference_mode else torch.no_grad
    with guard(), autocast(device, dtype):
        text = model.encode_text(tokens, trim)
        return median_seconds(lambda: logits_of(model, video, text), args, device)


def time_training(model, video, tokens, labels, args, device, dtype, trim):
    model.train()
    model.token_embedding.weight.requires_grad_(False)  # as ViFi-CLIP
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=8e-6, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.001)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, dtype):
            logits = logits_of(model, video, model.encode_text(tokens, trim))
            loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        optimizer.step()

    return median_seconds(step, args, device)


def peak_mb(device):
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def flops(arch, args, context):  # the formula of vifi's model_iteration_flops
    embed, res, v_layers, v_width, patch, t_width, _, t_layers = ARCHS[arch]
    def tower(layers, w, s):
        return layers * (24.0 * s * w * w + 4.0 * s * s * w)
    p = (res // patch) ** 2
    image = 2.0 * p * 3 * patch * patch * v_width + tower(v_layers, v_width, p + 1) + 2.0 * v_width * embed
    vision = image * args.batch * args.frames
    if not args.train:
        return vision
    return 3.0 * (vision + args.classes * (tower(t_layers, t_width, context) + 2.0 * t_width * embed))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--arch", default="ViT-B/16", choices=sorted(ARCHS))
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--classes", type=int, default=400)
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--text-context", default="trimmed", choices=["trimmed", "full"])
    ap.add_argument("--inference-mode", action="store_true")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    torch.manual_seed(0)
    model = CLIP(args.arch).to(device)
    video = torch.randn(args.batch, args.frames, 3, model.resolution, model.resolution, device=device)
    tokens = prompt_tokens(args.classes).to(device)
    labels = torch.randint(args.classes, (args.batch,), device=device)
    trim = args.text_context == "trimmed"
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    if args.train:
        seconds = time_training(model, video, tokens, labels, args, device, dtype, trim)
    else:
        seconds = time_inference(model, video, tokens, args, device, dtype, trim)
    context = int(tokens.argmax(-1).max()) + 1 if trim else 77
    work = flops(args.arch, args, context)
    print(f"RESULT impl=reference bench=model mode={'train' if args.train else 'infer'} arch={args.arch} "
          f"frames={args.frames} batch={args.batch} classes={args.classes} device={args.device} dtype={args.dtype} "
          f"threads={torch.get_num_threads()} median_ms={seconds * 1e3:.1f} "
          f"items_per_s={args.batch * args.frames / seconds:.3f} gflop_per_iter={work / 1e9:.1f} "
          f"tflops={work / seconds / 1e12:.4f} peak_mb={peak_mb(device):.0f} text_context={context} "
          f"torch={torch.__version__}")


if __name__ == "__main__":
    main()
