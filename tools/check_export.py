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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("format", choices=["openai", "vificlip", "safetensors"])
    parser.add_argument("file")
    parser.add_argument("--archive", help="OpenAI TorchScript archive the export was made from")
    parser.add_argument("--authors", help="the authors' checkpoint the export was made from")
    a = parser.parse_args()
    stub_yacs()

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
