#!/usr/bin/python3
"""Writes the torch.save checkpoint fuzzer's seeds (fuzz/corpus-torch_checkpoint): pickles as
torch.save and Python's pickle write them, and whole small torch.save archives.

Made by the reference implementation (Debian's python3-torch and CPython's pickle), so the
fuzzer starts from what real files hold: the data.pkl of the authors'-layout checkpoints in
tests/fixtures/vificlip_ref (a pickled yacs config, optimiser state, DDP's module. prefix), state
dicts with shared storages, views and every storage dtype, and plain Python values in every
pickle protocol (memo sharing, cycles, big ints, sets, bytes). Reproducible; the files are
committed so CI needs no Python to fuzz. Needs Debian's python3-torch (hence /usr/bin/python3).
Usage: tools/make-checkpoint-fuzz-seeds.py [out_dir]
"""
import collections
import io
import os
import pickle
import sys
import zipfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fuzz", "corpus-torch_checkpoint")
os.makedirs(out, exist_ok=True)


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def data_pkl(archive_bytes):
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as z:
        return z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))


def saved(obj, protocol):
    buf = io.BytesIO()
    torch.save(obj, buf, pickle_protocol=protocol)
    return buf.getvalue()


# The authors' layout, as the fixtures hold it (made by their code: tools/make_reference_fixtures.py).
for name in ("finetuned", "vl_prompted"):
    with open(os.path.join(ROOT, "tests", "fixtures", "vificlip_ref", name + ".pth"), "rb") as f:
        write(name + ".pkl", data_pkl(f.read()))

torch.manual_seed(0)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
state = collections.OrderedDict()
state["module.image_encoder.conv1.weight"] = base
state["module.image_encoder.VPT"] = base[1:3]                 # a view with an offset
state["module.image_encoder.transformer.resblocks.1.VPT_shallow"] = base.t()  # strides swapped
state["module.text_encoder.positional_embedding"] = torch.zeros(3, 2, dtype=torch.float16)
state["module.prompt_learner.ctx"] = torch.ones(2, 2, dtype=torch.bfloat16)
state["module.logit_scale"] = torch.tensor(4.6052)             # 0-d
state["module.prompt_learner.token_prefix"] = torch.zeros(0, 2)  # empty
state["steps"] = torch.tensor([1, 2, 3], dtype=torch.int64)
state["mask"] = torch.tensor([True, False])
checkpoint = {"model": state, "optimizer": {"state": {0: {"exp_avg": base * 0}}, "param_groups": [{"lr": 1e-5}]},
              "epoch": 3, "max_accuracy": 81.5, "config": {"TRAINER": {"ViFi_CLIP": {"CTX_INIT": "a photo of a",
                                                                                   "ZS_EVAL": False}}}}
for protocol in (2, 4, 5):
    write(f"checkpoint_p{protocol}.pkl", data_pkl(saved(checkpoint, protocol)))
write("state_dict_p2.pkl", data_pkl(saved(state, 2)))
# Whole archives: the zip container, its records and byteorder.
write("checkpoint.pt", saved(checkpoint, 2))
write("tensor.pt", saved(torch.arange(6, dtype=torch.int16).reshape(2, 3), 2))

# Plain Python values in every protocol: what the pickle machine must follow or refuse.
shared = [1, 2]
cycle = []
cycle.append(cycle)
values = {
    "ints": [0, -1, 255, 65535, 2**31, -(2**31), 2**63 - 1, 2**64, -(2**70)],
    "floats": [0.5, -1e300, float("inf")],
    "text": ["", "a photo of a", "caf\u00e9", "\u6f22"],
    "bytes": [b"", b"\x00\xff", bytearray(b"ba")],
    "containers": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), set(), {1, 2}, frozenset({3}), {}],
    "shared": [shared, shared],
    "cycle": cycle,
    "ordered": collections.OrderedDict([("b", 1), ("a", None)]),
    "flags": [True, False, None],
}
for protocol in range(0, 6):
    write(f"values_p{protocol}.pkl", pickle.dumps(values, protocol=protocol))
print(f"wrote {len(os.listdir(out))} seeds to {out}")
