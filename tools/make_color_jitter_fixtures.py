#!/usr/bin/env python3
"""Golden files for vifi's colour augmentation: made by PIL, the library the reference runs.

ViFi-CLIP's train pipeline applies torchvision's ColorJitter and Grayscale to PIL images, so
the pixels a model trains on are PIL's: ImageEnhance.Brightness / Contrast / Color, and
torchvision's functional_pil.adjust_hue (PIL's 8-bit HSV, H += np.uint8(hue * 255) with uint8
wrap-around), and convert("L") copied to three channels. This script applies each with chosen
factors, and four ops in chosen orders as ColorJitter does, to one test image, and stores input
and outputs for tests/test_transforms.cpp (data/color_jitter must reproduce them bit for bit).

The image: every grey level, the six primary and secondary colours at full and half value,
near-greys (chroma 1 and 2 at every tenth value), ties of the largest and smallest channel,
then seeded random colours.

Needs Debian's python3-pil and python3-numpy:
    /usr/bin/python3 tools/make_color_jitter_fixtures.py --out tests/fixtures/color_jitter
"""
import argparse
import json
import os

import numpy as np
from PIL import Image, ImageEnhance

WIDTH = 64
HEIGHT = 24


def test_image():
    special = [(v, v, v) for v in range(256)]
    for value in (255, 128):
        for rgb in ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0, 1)):
            special.append(tuple(value * c for c in rgb))
    for v in range(2, 256, 10):
        for a, b in ((v, v - 1), (v, v - 2)):
            special += [(a, b, b), (b, a, b), (b, b, a), (a, a, b), (a, b, a), (b, a, a)]
    special += [(200, 200, 30), (30, 200, 200), (200, 30, 200), (200, 30, 30), (30, 200, 30), (30, 30, 200)]
    rng = np.random.default_rng(20261201)
    pixels = np.array(special, dtype=np.uint8)
    rest = rng.integers(0, 256, size=(WIDTH * HEIGHT - len(pixels), 3), dtype=np.uint8)
    return np.concatenate([pixels, rest]).reshape(HEIGHT, WIDTH, 3)


def adjust_hue(img, hue_factor):
    """torchvision.transforms.functional_pil.adjust_hue (the PIL path the reference takes)."""
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    with np.errstate(over="ignore"):
        np_h += np.uint8(hue_factor * 255)
    return Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert(img.mode)


OPS = {
    "brightness": lambda img, f: ImageEnhance.Brightness(img).enhance(f),
    "contrast": lambda img, f: ImageEnhance.Contrast(img).enhance(f),
    "saturation": lambda img, f: ImageEnhance.Color(img).enhance(f),
    "hue": adjust_hue,
    "grayscale": lambda img, f: img.convert("L").convert("RGB"),
}

# (op, factor) single adjustments, and ColorJitter-like sequences in a given order.
SINGLE = [("brightness", f) for f in (0.0, 0.6, 0.83, 1.0, 1.17, 1.4)]
SINGLE += [("contrast", f) for f in (0.0, 0.6, 0.77, 1.26, 1.4)]
SINGLE += [("saturation", f) for f in (0.0, 0.8, 0.93, 1.09, 1.2, 2.0)]
SINGLE += [("hue", f) for f in (-0.5, -0.1, -0.043, -0.002, 0.0, 0.031, 0.1, 1.0 / 3.0, 0.5)]
SINGLE += [("grayscale", 0.0)]
SEQUENCES = [
    [("hue", 0.07), ("saturation", 1.15), ("brightness", 0.71), ("contrast", 1.33)],
    [("contrast", 0.64), ("hue", -0.09), ("brightness", 1.38), ("saturation", 0.82)],
    [("brightness", 1.21), ("contrast", 1.08), ("saturation", 0.9), ("hue", 0.013)],
    [("saturation", 1.19), ("brightness", 0.93), ("hue", -0.031), ("contrast", 0.61)],
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    image = test_image()
    cases, outputs = [], []
    for steps in [[s] for s in SINGLE] + SEQUENCES:
        img = Image.fromarray(image, "RGB")
        for op, factor in steps:
            img = OPS[op](img, factor)
        outputs.append(np.asarray(img, dtype=np.uint8))
        cases.append([{"op": op, "factor": factor} for op, factor in steps])
    np.save(os.path.join(args.out, "input.npy"), image)
    np.save(os.path.join(args.out, "outputs.npy"), np.stack(outputs))
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump({"made_by": "tools/make_color_jitter_fixtures.py (PIL " + Image.__version__ + ")",
                   "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
