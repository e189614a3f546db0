// PIL-equivalent colour adjustments; the formulas and their sources are in the header.
#include "vifi/data/color_jitter.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace vifi::data {
namespace {

void check_rgb(const cv::Mat& rgb, const char* what) {
  if (rgb.type() != CV_8UC3) {
    throw std::invalid_argument(std::string(what) + ": expected an RGB CV_8UC3 image, got type " +
                                std::to_string(rgb.type()));
  }
}

// PIL ImagingBlend: out = in1 + alpha * (in2 - in1) in float, truncated (and clipped when
// extrapolating, alpha outside [0, 1]).
uint8_t pil_blend(int degenerate, int image, float alpha) {
  const auto v = static_cast<float>(static_cast<float>(degenerate) + alpha * static_cast<float>(image - degenerate));
  if (alpha >= 0.0F && alpha <= 1.0F) return static_cast<uint8_t>(v);
  if (v <= 0.0F) return 0;
  if (v >= 255.0F) return 255;
  return static_cast<uint8_t>(v);
}

// Calls fn(pixel pointer) for every pixel; works on non-continuous ROIs.
template <typename Fn>
void for_each_pixel(cv::Mat& rgb, Fn fn) {
  for (int y = 0; y < rgb.rows; ++y) {
    uint8_t* p = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < rgb.cols; ++x, p += 3) fn(p);
  }
}

uint8_t clip8(int v) { return static_cast<uint8_t>(v <= 0 ? 0 : v >= 255 ? 255 : v); }

// std::round for 0 <= x < 2^31 without the libm call (half away from zero, as round does; the
// correction catches x + 0.5 rounding up, e.g. x = 0.49999999999999994).
int round_non_negative(double x) {
  int r = static_cast<int>(x + 0.5);
  if (static_cast<double>(r) - x > 0.5) --r;
  return r;
}

// PIL rgb2hsv_row (Convert.c), 8-bit H, S, V.
void pil_rgb_to_hsv(const uint8_t* in, uint8_t* out) {
  const uint8_t r = in[0], g = in[1], b = in[2];
  const uint8_t maxc = std::max(r, std::max(g, b));
  const uint8_t minc = std::min(r, std::min(g, b));
  out[2] = maxc;
  if (minc == maxc) {
    out[0] = 0;
    out[1] = 0;
    return;
  }
  const auto cr = static_cast<float>(maxc - minc);
  const float s = cr / static_cast<float>(maxc);
  const float rc = static_cast<float>(maxc - r) / cr;
  const float gc = static_cast<float>(maxc - g) / cr;
  const float bc = static_cast<float>(maxc - b) / cr;
  float h = 0.0F;
  if (r == maxc) {
    h = bc - gc;
  } else if (g == maxc) {
    h = static_cast<float>(2.0 + rc - bc);
  } else {
    h = static_cast<float>(4.0 + gc - rc);
  }
  // fmod(x, 1.0) for x = h/6 + 1 in [5/6, 2): exact either way, without the libm call.
  const double wrapped = h / 6.0 + 1.0;
  h = static_cast<float>(wrapped >= 1.0 ? wrapped - 1.0 : wrapped);
  out[0] = clip8(static_cast<int>(h * 255.0));
  out[1] = clip8(static_cast<int>(s * 255.0));
}

// PIL hsv2rgb (Convert.c).
void pil_hsv_to_rgb(const uint8_t* in, uint8_t* out) {
  const uint8_t h = in[0], s = in[1], v = in[2];
  if (s == 0) {
    out[0] = out[1] = out[2] = v;
    return;
  }
  const auto i = static_cast<int>(static_cast<float>(h) * 6.0 / 255.0);  // floor: non-negative
  const auto f = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
  const auto fs = static_cast<float>(static_cast<float>(s) / 255.0);
  const uint8_t p = clip8(round_non_negative(static_cast<float>(v) * (1.0 - fs)));
  const uint8_t q = clip8(round_non_negative(static_cast<float>(v) * (1.0 - fs * f)));
  const uint8_t t = clip8(round_non_negative(static_cast<float>(v) * (1.0 - fs * (1.0 - f))));
  const uint8_t table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
  const uint8_t* rgb = table[i % 6];
  out[0] = rgb[0];
  out[1] = rgb[1];
  out[2] = rgb[2];
}

}  // namespace

ColorJitterParams draw_color_jitter(Rng& rng, const ColorJitterRanges& ranges) {
  ColorJitterParams p;
  // torch.randperm(4): Fisher-Yates over the four operations.
  for (int i = 3; i > 0; --i)
    std::swap(p.order[static_cast<size_t>(i)], p.order[static_cast<size_t>(rng.uniform_int(i + 1))]);
  p.brightness = rng.uniform(std::max(0.0, 1.0 - ranges.brightness), 1.0 + ranges.brightness);
  p.contrast = rng.uniform(std::max(0.0, 1.0 - ranges.contrast), 1.0 + ranges.contrast);
  p.saturation = rng.uniform(std::max(0.0, 1.0 - ranges.saturation), 1.0 + ranges.saturation);
  p.hue = rng.uniform(-ranges.hue, ranges.hue);
  return p;
}

void apply_color_jitter(const ColorJitterParams& params, cv::Mat& rgb) {
  for (const ColorOp op : params.order) {
    switch (op) {
      case ColorOp::brightness:
        adjust_brightness(rgb, params.brightness);
        break;
      case ColorOp::contrast:
        adjust_contrast(rgb, params.contrast);
        break;
      case ColorOp::saturation:
        adjust_saturation(rgb, params.saturation);
        break;
      case ColorOp::hue:
        adjust_hue(rgb, params.hue);
        break;
    }
  }
}

void adjust_brightness(cv::Mat& rgb, double factor) {
  check_rgb(rgb, "adjust_brightness");
  const auto alpha = static_cast<float>(factor);
  for_each_pixel(rgb, [alpha](uint8_t* p) {
    for (int c = 0; c < 3; ++c) p[c] = pil_blend(0, p[c], alpha);
  });
}

void adjust_contrast(cv::Mat& rgb, double factor) {
  check_rgb(rgb, "adjust_contrast");
  double sum = 0.0;
  for_each_pixel(rgb, [&sum](uint8_t* p) { sum += pil_luma(p[0], p[1], p[2]); });
  const double count = static_cast<double>(rgb.total());
  const int mean = count > 0 ? static_cast<int>(sum / count + 0.5) : 0;
  const auto alpha = static_cast<float>(factor);
  for_each_pixel(rgb, [alpha, mean](uint8_t* p) {
    for (int c = 0; c < 3; ++c) p[c] = pil_blend(mean, p[c], alpha);
  });
}

void adjust_saturation(cv::Mat& rgb, double factor) {
  check_rgb(rgb, "adjust_saturation");
  const auto alpha = static_cast<float>(factor);
  for_each_pixel(rgb, [alpha](uint8_t* p) {
    const int gray = pil_luma(p[0], p[1], p[2]);
    for (int c = 0; c < 3; ++c) p[c] = pil_blend(gray, p[c], alpha);
  });
}

void adjust_hue(cv::Mat& rgb, double hue_shift) {
  check_rgb(rgb, "adjust_hue");
  if (hue_shift < -0.5 || hue_shift > 0.5) {
    throw std::invalid_argument("adjust_hue: shift " + std::to_string(hue_shift) + " not in [-0.5, 0.5]");
  }
  // np.uint8(hue * 255): truncation toward zero, then wrap-around modulo 256.
  const int shift = ((static_cast<int>(hue_shift * 255.0) % 256) + 256) % 256;
  for_each_pixel(rgb, [shift](uint8_t* p) {
    uint8_t hsv[3];
    pil_rgb_to_hsv(p, hsv);
    hsv[0] = static_cast<uint8_t>((hsv[0] + shift) & 0xff);
    pil_hsv_to_rgb(hsv, p);
  });
}

void to_grayscale_rgb(cv::Mat& rgb) {
  check_rgb(rgb, "to_grayscale_rgb");
  for_each_pixel(rgb, [](uint8_t* p) { p[0] = p[1] = p[2] = pil_luma(p[0], p[1], p[2]); });
}

}  // namespace vifi::data
