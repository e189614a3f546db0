#!/usr/bin/env python3
"""Golden files for reading the authors' released checkpoints: made by the authors' own code.

Builds a tiny fully fine-tuned ViFi-CLIP and a tiny VL-prompted one with trainers/vificlip.py and
the modified clip/model.py of muzairkhattak/ViFi-CLIP, from vifi's tiny OpenAI-format archive
(tests/fixtures/clip_tiny/clip_tiny.pt), saves each exactly as their utils/tools.py epoch_saving
does (model state of the DistributedDataParallel wrapper, AdamW state after one step, scheduler
state, a numpy max_accuracy, the epoch and the pickled yacs config), and stores the logits of a
fixed video tensor. tests/test_released_checkpoints.cpp checks that
`vifi embed --weights CKPT --clip clip_tiny.pt --classes classes.txt --videos video.npy`
reproduces them.

Deliberate choices, so the comparison tests vifi's reading and mapping:
- Every weight is perturbed from the archive (a "fine-tuned" model), so a loader that fell back
  to the archive's weights would fail.
- The prompt tensors are rounded to fp16 values before the one AdamW step (lr 1e-9, so they stay
  within about 1e-9 of them): the reference casts VPT tokens with .half() at use (clip/model.py),
  vifi keeps them fp32 (docs/design.md); near-fp16-exact values make the two agree.
- One class name has an underscore: the reference's prompt learner reads it as a space only when
  prompting.

Needs Debian's python3-torch, python3-numpy and python3-regex; torchvision, tqdm (downloads),
ftfy (text repair; the class names are ASCII) and yacs (the config type) are stubbed here.
    /usr/bin/python3 tools/make_reference_fixtures.py --vificlip /path/to/ViFi-CLIP \
        --out tests/fixtures/vificlip_ref
"""
import argparse
import logging
import os
import sys
import types
from collections import OrderedDict

import numpy as np
import torch


def stub_modules():
    """Imports the authors' code makes for downloads and image transforms only."""
    tv = types.ModuleType("torchvision")
    tvt = types.ModuleType("torchvision.transforms")
    for name in ["Compose", "Resize", "CenterCrop", "ToTensor", "Normalize"]:
        setattr(tvt, name, object)
    tvt.InterpolationMode = types.SimpleNamespace(BICUBIC=3)
    tv.transforms = tvt
    sys.modules["torchvision"] = tv
    sys.modules["torchvision.transforms"] = tvt
    tqdm = types.ModuleType("tqdm")
    tqdm.tqdm = lambda *a, **k: None
    sys.modules["tqdm"] = tqdm
    ftfy = types.ModuleType("ftfy")  # text repair; the class names here are plain ASCII
    ftfy.fix_text = lambda text: text
    sys.modules["ftfy"] = ftfy
    try:
        import PIL.Image  # noqa: F401  (OpenAI's clip.py imports it for its image transforms)
    except ImportError:
        pil = types.ModuleType("PIL")
        pil.Image = types.SimpleNamespace(BICUBIC=3)
        sys.modules["PIL"] = pil


def yacs_cfgnode_class():
    """yacs.config.CfgNode as released checkpoints pickle it: a dict subclass whose __dict__ holds
    yacs' bookkeeping (pickled as NEWOBJ + SETITEMS + BUILD under the name yacs.config.CfgNode)."""
    try:
        from yacs.config import CfgNode  # the real one, where installed
        return CfgNode
    except ImportError:
        pass
    yacs = types.ModuleType("yacs")
    config = types.ModuleType("yacs.config")

    class CfgNode(dict):
        def __init__(self, init_dict=None):
            super().__init__()
            self.__dict__["__immutable__"] = False
            self.__dict__["__deprecated_keys__"] = set()
            self.__dict__["__renamed_keys__"] = {}
            self.__dict__["__new_allowed__"] = False
            for k, v in (init_dict or {}).items():
                self[k] = CfgNode(v) if isinstance(v, dict) else v

        def __getattr__(self, name):
            if name in self:
                return self[name]
            raise AttributeError(name)

    CfgNode.__module__ = "yacs.config"
    CfgNode.__qualname__ = "CfgNode"
    config.CfgNode = CfgNode
    yacs.config = config
    sys.modules["yacs"] = yacs
    sys.modules["yacs.config"] = config
    return CfgNode


def reference_config(CfgNode, prompt_model):
    """The authors' configs/*.yaml keys that trainers/vificlip.py reads, plus a few others."""
    return CfgNode({
        "DATA": {"NUM_FRAMES": 4, "NUM_CLASSES": 3, "INPUT_SIZE": 32, "LABEL_LIST": "labels/tiny.csv"},
        "MODEL": {"ARCH": "ViT-B/16", "RESUME": "", "PRETRAINED": None},
        "TRAIN": {"EPOCHS": 10, "BATCH_SIZE": 4, "LR": 2.0e-3 if prompt_model else 2.2e-5, "ACCUMULATION_STEPS": 2},
        "TRAINER": {"ViFi_CLIP": {
            "PROMPT_MODEL": prompt_model, "N_CTX_VISION": 4 if prompt_model else 0,
            "N_CTX_TEXT": 4 if prompt_model else 0, "CTX_INIT": "a photo of a",
            "PROMPT_DEPTH_VISION": 2 if prompt_model else 0, "PROMPT_DEPTH_TEXT": 2 if prompt_model else 1,
            "USE": "both", "ZS_EVAL": False}},
        "SAVE_FREQ": 1, "OUTPUT": "output/tiny", "SEED": 1024,
    })


def build(vificlip, cfg, classes, seed):
    torch.manual_seed(seed)
    model = vificlip.returnCLIP(cfg, logger=logging.getLogger("vificlip"), class_names=classes)
    # returnCLIP casts the weights to fp32 but keeps the fp16 dtype it recorded for inputs (GPU
    # autocast makes that moot there); on the CPU the inputs must follow the weights.
    model.dtype = torch.float32
    model.text_encoder.dtype = torch.float32
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "VPT" in name or name.endswith("prompt_learner.ctx"):
                p.copy_((0.5 * torch.randn_like(p)).half().float())  # fp16-exact (see the docstring)
            else:
                p.add_(0.02 * p.abs().mean() * torch.randn_like(p))
    return model


def save_like_epoch_saving(model, cfg, path, video):
    """utils/tools.py epoch_saving, after one AdamW step as in training."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-9, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.001)
    model.train()
    loss = model(video).logsumexp(-1).mean()
    loss.backward()
    optimizer.step()  # lr 1e-9: the weights move by about 1e-9, far below the test's tolerance
    optimizer.zero_grad()
    model.eval()
    ddp_state = OrderedDict(("module." + k, v) for k, v in model.state_dict().items())
    save_state = {"model": ddp_state,
                  "optimizer": optimizer.state_dict(),
                  "lr_scheduler": {"t_initial": 100, "warmup_t": 5, "lr_min": 0.0, "t_in_epochs": False,
                                   "base_values": [cfg.TRAIN.LR], "metric": None},
                  "max_accuracy": np.float64(41.25),
                  "epoch": 9,
                  "config": cfg}
    torch.save(save_state, path)
    with torch.no_grad():
        return model(video).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vificlip", required=True, help="checkout of muzairkhattak/ViFi-CLIP")
    parser.add_argument("--clip", default="tests/fixtures/clip_tiny/clip_tiny.pt", help="tiny OpenAI-format archive")
    parser.add_argument("--video", default="tests/fixtures/clip_tiny/video.npy", help="normalised [B,T,3,R,R] float32")
    parser.add_argument("--out", default="tests/fixtures/vificlip_ref")
    args = parser.parse_args()
    stub_modules()
    CfgNode = yacs_cfgnode_class()
    sys.path.insert(0, os.path.abspath(args.vificlip))
    from clip import clip as clip_module
    import trainers.vificlip as vificlip
    archive = os.path.abspath(args.clip)
    vificlip.clip._download = lambda url, root=None: archive  # load_clip_to_cpu's download
    clip_module._download = vificlip.clip._download

    os.makedirs(args.out, exist_ok=True)
    classes = ["archery", "ice_skating", "playing guitar"]
    with open(os.path.join(args.out, "classes.txt"), "w") as f:
        f.write("\n".join(classes) + "\n")
    video = torch.from_numpy(np.load(args.video)).float()

    for name, prompt_model, seed in [("finetuned", False, 1), ("vl_prompted", True, 2)]:
        cfg = reference_config(CfgNode, prompt_model)
        model = build(vificlip, cfg, classes, seed)
        logits = save_like_epoch_saving(model, cfg, os.path.join(args.out, name + ".pth"), video)
        np.save(os.path.join(args.out, "logits_" + name + ".npy"), logits.astype(np.float32))
        print(f"{name}: logits {logits.shape}, saved {os.path.getsize(os.path.join(args.out, name + '.pth'))} bytes")


if __name__ == "__main__":
    main()
