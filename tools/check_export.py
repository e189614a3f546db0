#!/usr/bin/env python3
"""Python's side of `vifi export`: opens what vifi wrote with PyTorch's own torch.load (or, for
safetensors, a reader written here from the format's specification) and compares every tensor
with the file it came from as PyTorch reads that file. Used by tests/test_export_command.cpp.

  check_export.py openai FILE --archive ViT-B-16.pt     # == torch.jit.load(archive).state_dict(),
                                                         #    which clip.load(jit=False) hands to build_model
  check_export.py openai FILE --authors CKPT.pth         # == the authors' checkpoint, renamed to OpenAI's names
  check_export.py vificlip FILE --authors CKPT.pth       # what their notebook loads: every key but the
                                                         #    three class buffers, same values
  check_export.py safetensors FILE --authors CKPT.pth    # vifi's names (OpenAI's + prompt_learner.*)
  check_export.py build-model FILE --openai-clip DIR --embed DIR --videos V.npy
      # OpenAI's own code on an openai export: clip.model.build_model from a checkout of
      # openai/CLIP (DIR/clip/model.py) builds it as clip.load(jit=False) does on a CPU; its
      # features of V.npy (frames averaged, ViFi-CLIP's pooling) and of the prompts vifi used
      # (DIR/prompts.txt) must equal what `vifi embed --videos V.npy --classes ... --out DIR`
      # wrote (1e-5), and so must the scaled-cosine logits; --save OUT keeps OpenAI's as .npy

Exit 0: equal; 1: a difference (printed); 77: no PyTorch here (the test skips).
"""
import argparse
import json
import struct
import sys

try:
    import numpy as np
    import torch
except ImportError:  # Debian's python3-torch / python3-numpy absent
    sys.exit(77)

def stub_yacs():
    """The authors' checkpoints pickle their yacs config (a dict subclass); without yacs installed,
    an equivalent class lets torch.load finish (the config is not compared)."""
    try:
        import yacs.config  # noqa: F401
    except ImportError:
        import types
        yacs = types.ModuleType("yacs")
        config = types.ModuleType("yacs.config")

        class CfgNode(dict):
            pass

        config.CfgNode = CfgNode
        yacs.config = config
        sys.modules["yacs"] = yacs
        sys.modules["yacs.config"] = config


REBUILT = ("prompt_learner.token_prefix", "prompt_learner.token_suffix", "prompt_learner.complete_text_embeddings")
OPENAI_ATTRIBUTES = ("input_resolution", "context_length", "vocab_size")


def authors_model(path):
    """The 'model' dict of the authors' checkpoint without DDP's 'module.' (their notebook's k[7:])."""
    state = torch.load(path, map_location="cpu")["model"]
    return {k[7:] if k.startswith("module.") else k: v for k, v in state.items()}


def authors_to_vifi(state, with_prompts):
    """The authors' names (trainers/vificlip.py: image_encoder = clip.visual, text_encoder = TextEncoder,
    VL prompts as VPT / VPT_shallow) -> OpenAI's, plus vifi's prompt_learner.* for the prompts."""
    out, text_deep, vision_deep = {}, {}, {}
    for k, v in state.items():
        if k in REBUILT:
            continue
        if k.endswith(".VPT_shallow"):
            block = int(k.split(".")[-2])
            (vision_deep if k.startswith("image_encoder.") else text_deep)[block] = v
        elif k == "image_encoder.VPT":
            out["prompt_learner.vision_ctx"] = v
        elif k == "prompt_learner.ctx":
            out["prompt_learner.text_ctx"] = v
        elif k.startswith("image_encoder."):
            out["visual." + k[len("image_encoder."):]] = v
        elif k.startswith("text_encoder."):
            out[k[len("text_encoder."):]] = v
        else:
            out[k] = v
    for name, blocks in (("prompt_learner.text_deep", text_deep), ("prompt_learner.vision_deep", vision_deep)):
        if blocks:
            out[name] = torch.stack([blocks[i] for i in sorted(blocks)])
    if not with_prompts:
        out = {k: v for k, v in out.items() if not k.startswith("prompt_learner.")}
    return out


def read_safetensors(path):
    """The format as its README specifies it: u64 little-endian N, N bytes of JSON, the data."""
    dtypes = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
              "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=np.dtype(dtypes[entry["dtype"]]).newbyteorder("<"))
        out[key] = torch.from_numpy(array.reshape(entry["shape"]).copy())
    return out, header.get("__metadata__", {})


def compare(got, want, what):
    problems = []
    if set(got) != set(want):
        problems.append(f"{what}: keys differ: only in the export {sorted(set(got) - set(want))[:5]}, "
                        f"missing {sorted(set(want) - set(got))[:5]}")
    for k in sorted(set(got) & set(want)):
        a, b = got[k], want[k]
        if not isinstance(a, torch.Tensor):
            problems.append(f"{what}: {k} is a {type(a).__name__}, expected a tensor")
        elif a.shape != b.shape or not torch.equal(a.float(), b.float()):
            problems.append(f"{what}: {k} differs (shape {tuple(a.shape)} vs {tuple(b.shape)})")
    return problems


def close(got, want, what, tolerance=1e-5):
    """Max abs difference relative to the reference's scale, as the golden-feature tests compare."""
    got, want = torch.as_tensor(got).float(), torch.as_tensor(want).float()
    if got.shape != want.shape:
        return [f"{what}: shape {tuple(got.shape)}, OpenAI's code gives {tuple(want.shape)}"]
    error = ((got - want).abs().max() / want.abs().max().clamp(min=1e-12)).item()
    print(f"{what}: {tuple(got.shape)}, max relative difference {error:.2e}")
    return [f"{what}: differs by {error:.2e} (tolerance {tolerance})"] if not error <= tolerance else []


def build_model_check(a):
    sys.path.insert(0, a.openai_clip)
    from make_reference_fixtures import stub_modules  # downloads and image transforms only
    stub_modules()
    from clip.clip import tokenize
    from clip.model import build_model

    state = torch.load(a.file, map_location="cpu")
    # clip.load(jit=False) on a CPU: build_model, then .float(). build_model casts the model to
    # fp16 before it loads the weights, so fine-tuned fp32 weights come out rounded to fp16;
    # loading them again after .float() keeps them exact (what the README tells users to do).
    model = build_model(dict(state)).float().eval()
    model.load_state_dict(state)
    videos = torch.from_numpy(np.load(a.videos))
    with open(f"{a.embed}/prompts.txt") as f:
        prompts = [line.rstrip("\n") for line in f]
    with torch.no_grad():
        b, t = videos.shape[:2]
        video = model.encode_image(videos.flatten(0, 1)).view(b, t, -1).mean(1)
        text = model.encode_text(tokenize(prompts, context_length=model.context_length))
        v, w = video / video.norm(dim=-1, keepdim=True), text / text.norm(dim=-1, keepdim=True)
        logits = model.logit_scale.exp() * v @ w.t()
    if a.save:
        for name, value in (("video_features", video), ("text_features", text), ("logits_per_video", logits)):
            np.save(f"{a.save}/{name}.npy", value.numpy().astype(np.float32))
    problems = close(np.load(f"{a.embed}/video_features.npy"), video, "video_features")
    problems += close(np.load(f"{a.embed}/text_features.npy"), text, "text_features")
    problems += close(np.load(f"{a.embed}/logits_per_video.npy"), logits, "logits_per_video")
    for p in problems:
        print(p)
    if not problems:
        print(f"OK: OpenAI's build_model builds {a.file} into the same model ({len(prompts)} prompts, {b} videos)")
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("format", choices=["openai", "vificlip", "safetensors", "build-model"])
    parser.add_argument("file")
    parser.add_argument("--archive", help="OpenAI TorchScript archive the export was made from")
    parser.add_argument("--authors", help="the authors' checkpoint the export was made from")
    parser.add_argument("--openai-clip", help="build-model: a checkout of github.com/openai/CLIP")
    parser.add_argument("--embed", help="build-model: the --out folder of `vifi embed` on the export")
    parser.add_argument("--videos", help="build-model: the normalised [B,T,3,R,R] float32 .npy given to vifi embed")
    parser.add_argument("--save", help="build-model: folder for OpenAI's features and logits (.npy)")
    a = parser.parse_args()
    stub_yacs()
    if a.format == "build-model":
        return build_model_check(a)

    if a.format == "openai":
        got = torch.load(a.file, map_location="cpu")
        if not isinstance(got, dict):
            print(f"{a.file}: torch.load gives a {type(got).__name__}, expected a dict")
            return 1
        if a.archive:
            want = torch.jit.load(a.archive, map_location="cpu").state_dict()
            want = {k: v for k, v in want.items() if k not in OPENAI_ATTRIBUTES}  # build_model deletes them
        else:
            want = authors_to_vifi(authors_model(a.authors), with_prompts=False)
            want["token_embedding.weight"] = got.get("token_embedding.weight")  # from --clip, not the checkpoint
        problems = compare(got, want, "openai")
    elif a.format == "vificlip":
        file = torch.load(a.file, map_location="cpu")
        got = {k[7:]: v for k, v in file["model"].items()}  # the notebook's k[7:]
        want = authors_model(a.authors)
        want = {k: v for k, v in want.items() if k not in REBUILT}  # the notebook deletes these
        want["token_embedding.weight"] = got.get("token_embedding.weight")
        problems = compare(got, want, "vificlip")
        if not all(k.startswith("module.") for k in file["model"]):
            problems.append("vificlip: a key without 'module.' (the notebook strips 7 characters)")
        trainer = file.get("config", {}).get("TRAINER", {}).get("ViFi_CLIP", {})
        if "CTX_INIT" not in trainer:
            problems.append("vificlip: no config.TRAINER.ViFi_CLIP.CTX_INIT")
    else:
        got, metadata = read_safetensors(a.file)
        want = authors_to_vifi(authors_model(a.authors), with_prompts=True)
        want["token_embedding.weight"] = got.get("token_embedding.weight")
        problems = compare(got, want, "safetensors")
        if metadata.get("format") != "pt":
            problems.append(f"safetensors: metadata {metadata} lacks format=pt")
    for p in problems:
        print(p)
    if not problems:
        print(f"OK: {a.format} export {a.file}: {len(got)} tensors equal")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
