#!/usr/bin/env python3
"""Convert an authors' released ViFi-CLIP checkpoint into a weights-only file (optional).

vifi reads the released files as they are (util/torch_load, model/reference_checkpoint), so this
script is no longer needed; it remains for a smaller file without the optimiser state. The
released files are torch.save dicts whose 'model' entry holds the reference module's state
('module.image_encoder.*', 'module.text_encoder.*', 'module.logit_scale',
'module.prompt_learner.*'), next to the optimiser, scheduler and pickled config. This keeps only
'model', strips 'module.', makes every tensor fp32 and contiguous, and writes the plain
{name: tensor} dict with torch.save (zip format).

The reference never stores CLIP's token embedding (it is frozen and only used to build the
prompt buffers), so pass the OpenAI archive the model was fine-tuned from with --clip to copy
'token_embedding.weight' from it (or give vifi --clip when you use the file).

Needs only PyTorch:
    python tools/convert_checkpoint.py vifi_clip_10_epochs_k400_full_finetuned.pth \
        --clip ViT-B-16.pt -o k400_vifi.pt
    vifi eval --setting zeroshot --weights k400_vifi.pt --config ... --output out/
"""
import argparse
import sys

import torch


def load_model_state(path):
    # weights_only=False: the released files hold pickled configs next to the weights.
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # PyTorch < 1.13 has no weights_only
        checkpoint = torch.load(path, map_location="cpu")
    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        sys.exit(f"{path}: expected a dict with a 'model' state dict")
    return state


def convert(state):
    out = {}
    for key, value in state.items():
        if not torch.is_tensor(value):
            sys.exit(f"model entry '{key}' is not a tensor ({type(value).__name__})")
        name = key[len("module."):] if key.startswith("module.") else key
        out[name] = value.detach().to(torch.float32).contiguous().clone()
    return out


def token_embedding(clip_path):
    archive = torch.jit.load(clip_path, map_location="cpu")
    return archive.state_dict()["token_embedding.weight"].to(torch.float32).contiguous().clone()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="released .pth file (torch.save dict with 'model')")
    parser.add_argument("-o", "--output", required=True, help="converted file for vifi --weights")
    parser.add_argument("--clip", help="OpenAI archive (ViT-B-16.pt) to copy token_embedding.weight from")
    args = parser.parse_args()
    state = convert(load_model_state(args.checkpoint))
    if args.clip:
        state["token_embedding.weight"] = token_embedding(args.clip)
    elif "token_embedding.weight" not in state:
        print("warning: no --clip given; vifi needs token_embedding.weight to load this file", file=sys.stderr)
    torch.save(state, args.output)
    print(f"wrote {len(state)} tensors to {args.output}")


if __name__ == "__main__":
    main()
