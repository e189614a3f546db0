// Colour augmentation with the arithmetic of the reference's torchvision-on-PIL path.
// Owns: torchvision.transforms.ColorJitter(brightness=.4, contrast=.4, saturation=.2, hue=.1)
// and Grayscale(num_output_channels=3) as ViFi-CLIP applies them to PIL images:
//   brightness  PIL ImageEnhance.Brightness: blend(black, img, f)
//   contrast    PIL ImageEnhance.Contrast:   blend(int(mean(L(img)) + .5), img, f)
//   saturation  PIL ImageEnhance.Color:      blend(L(img), img, f)
//   hue         torchvision F_pil.adjust_hue: PIL HSV (8-bit), H += uint8(hue*255) mod 256
//   grayscale   PIL convert("L"): L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, copied to RGB
// PIL's blend is float arithmetic truncated to uint8 (clipped when f > 1). The four adjustments
// run in a random order (torch.randperm(4) in torchvision).
// Deviation: the reference draws new jitter factors for every frame (torchvision draws per call);
// vifi draws once per clip so all frames of a clip get the same colour change (DESIGN.md).
#pragma once
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>

#include "vifi/data/rng.h"

namespace vifi::data {

struct ColorJitterRanges {
  double brightness = 0.4;  // factor in [1-b, 1+b]
  double contrast = 0.4;    // factor in [1-c, 1+c]
  double saturation = 0.2;  // factor in [1-s, 1+s]
  double hue = 0.1;         // shift in [-h, h] of a full turn
};

enum class ColorOp : int { brightness = 0, contrast = 1, saturation = 2, hue = 3 };

struct ColorJitterParams {
  std::array<ColorOp, 4> order{ColorOp::brightness, ColorOp::contrast, ColorOp::saturation, ColorOp::hue};
  double brightness = 1.0;
  double contrast = 1.0;
  double saturation = 1.0;
  double hue = 0.0;
};

ColorJitterParams draw_color_jitter(Rng& rng, const ColorJitterRanges& ranges);

// In place on an RGB CV_8UC3 image (the same params for every frame of a clip).
void apply_color_jitter(const ColorJitterParams& params, cv::Mat& rgb);

// The single adjustments, in place on RGB CV_8UC3.
void adjust_brightness(cv::Mat& rgb, double factor);
void adjust_contrast(cv::Mat& rgb, double factor);
void adjust_saturation(cv::Mat& rgb, double factor);
void adjust_hue(cv::Mat& rgb, double hue_shift);  // hue_shift in [-0.5, 0.5]
void to_grayscale_rgb(cv::Mat& rgb);

namespace detail {
// adjust_hue computed one pixel at a time by the PIL formulas its tables are filled from (slow);
// tests hold the tables to it on every colour.
void adjust_hue_per_pixel(cv::Mat& rgb, double hue_shift);
}  // namespace detail

// PIL's ITU-R 601-2 luma of one pixel.
inline uint8_t pil_luma(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

}  // namespace vifi::data
