// PIL-equivalent colour adjustments; the formulas and their sources are in the header.
// Speed matters here: the loader runs these over every pixel of most training clips
// (AUG.COLOR_JITTER 0.8), and per pixel the HSV round trip of the hue step cost more than a
// third of the transforms' time. So the adjustments read tables filled from the one-pixel PIL
// formulas below: brightness and contrast a 256-entry table per call; hue process-wide tables of
// PIL's 8-bit HSV conversion. A pixel's 8-bit hue depends only on which channel is largest (and
// which smallest), its chroma (max - min) and the middle channel's distance below the largest,
// so 6 x 256 x 256 bytes hold every case. tests/test_transforms.cpp checks the results against
// PIL's own output and the tables against the formulas on all 2^24 colours.
#include "vifi/data/color_jitter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

using ByteTable = std::array<uint8_t, 256>;

// Every channel value v -> table[v].
void apply_table(cv::Mat& rgb, const ByteTable& table) {
  for (int y = 0; y < rgb.rows; ++y) {
    uint8_t* p = rgb.ptr<uint8_t>(y);
    const int n = rgb.cols * 3;
    for (int i = 0; i < n; ++i) p[i] = table[p[i]];
  }
}

ByteTable blend_table(int degenerate, float alpha) {
  ByteTable t{};
  for (int v = 0; v < 256; ++v) t[static_cast<size_t>(v)] = pil_blend(degenerate, v, alpha);
  return t;
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

// PIL hsv2rgb (Convert.c): the sector of H and its fraction, S / 255, and the three candidate
// channel values.
int hsv_sector(uint8_t h) { return static_cast<int>(static_cast<float>(h) * 6.0 / 255.0); }  // floor: >= 0
float hsv_fraction(uint8_t h) {
  return static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(hsv_sector(h)));
}
float hsv_unit_saturation(uint8_t s) { return static_cast<float>(static_cast<float>(s) / 255.0); }
uint8_t hsv_p(float fs, uint8_t v) { return clip8(round_non_negative(static_cast<float>(v) * (1.0 - fs))); }
uint8_t hsv_q(float fs, float f, uint8_t v) {
  return clip8(round_non_negative(static_cast<float>(v) * (1.0 - fs * f)));
}
uint8_t hsv_t(float fs, float f, uint8_t v) {
  return clip8(round_non_negative(static_cast<float>(v) * (1.0 - fs * (1.0 - f))));
}

// PIL's sector table {v,t,p},{q,v,p},{p,v,t},{p,q,v},{t,p,v},{v,p,q} as indices into {v,p,q,t}.
constexpr uint8_t kSectorPick[6][3] = {{0, 3, 1}, {2, 0, 1}, {1, 0, 3}, {1, 2, 0}, {3, 1, 0}, {0, 1, 2}};

void pil_hsv_to_rgb(const uint8_t* in, uint8_t* out) {
  const uint8_t h = in[0], s = in[1], v = in[2];
  if (s == 0) {
    out[0] = out[1] = out[2] = v;
    return;
  }
  const float f = hsv_fraction(h), fs = hsv_unit_saturation(s);
  const uint8_t values[4] = {v, hsv_p(fs, v), hsv_q(fs, f, v), hsv_t(fs, f, v)};
  const uint8_t* pick = kSectorPick[hsv_sector(h) % 6];
  for (int c = 0; c < 3; ++c) out[c] = values[pick[c]];
}

// Which of PIL's hue cases a pixel is in: the largest channel (the first of r, g, b on ties,
// PIL's branch order) and which of the other two is the smallest; the hue then depends only on
// the chroma and the remaining channel's distance below the largest.
struct HueKey {
  int index = -1;  // into HsvTables::hue; -1 for a grey pixel (no hue)
  int chroma = 0;  // max - min
  int value = 0;   // max: PIL's V
};

HueKey hue_key(int r, int g, int b) {
  const int maxc = std::max(r, std::max(g, b));
  const int minc = std::min(r, std::min(g, b));
  if (maxc == minc) return {-1, 0, maxc};
  int largest = 0, first = g, second = b;  // the other two channels in r, g, b order
  if (r != maxc) {
    largest = g == maxc ? 1 : 2;
    first = r;
    second = g == maxc ? b : g;
  }
  const bool second_is_min = second == minc;
  const int rest = maxc - (second_is_min ? first : second);
  const int chroma = maxc - minc;
  return {((largest * 2 + (second_is_min ? 0 : 1)) * 256 + chroma) * 256 + rest, chroma, maxc};
}

struct HsvTables {
  std::vector<uint8_t> hue = std::vector<uint8_t>(6 * 256 * 256);  // [hue_key index] -> H
  std::vector<uint8_t> saturation = std::vector<uint8_t>(256 * 256);  // [max * 256 + chroma] -> S
  std::vector<uint8_t> p = std::vector<uint8_t>(256 * 256);           // [S * 256 + V] -> p
  std::array<uint8_t, 256> sector{};                                  // [H] -> sector % 6
  std::array<float, 256> fraction{};                                  // [H]
  std::array<float, 256> unit_saturation{};                           // [S]

  HsvTables() {
    uint8_t hsv[3];
    // Each case's entries from one representative pixel with the largest channel at 255.
    for (int largest = 0; largest < 3; ++largest) {
      for (int second_is_min = 0; second_is_min < 2; ++second_is_min) {
        const int first_channel = largest == 0 ? 1 : 0;
        const int second_channel = largest == 2 ? 1 : 2;
        for (int chroma = 1; chroma < 256; ++chroma) {
          for (int rest = 0; rest <= chroma; ++rest) {
            uint8_t rgb[3];
            rgb[largest] = 255;
            rgb[second_is_min ? second_channel : first_channel] = static_cast<uint8_t>(255 - chroma);
            rgb[second_is_min ? first_channel : second_channel] = static_cast<uint8_t>(255 - rest);
            const HueKey key = hue_key(rgb[0], rgb[1], rgb[2]);
            pil_rgb_to_hsv(rgb, hsv);
            hue[static_cast<size_t>(key.index)] = hsv[0];
          }
        }
      }
    }
    for (int maxc = 1; maxc < 256; ++maxc) {
      for (int chroma = 1; chroma <= maxc; ++chroma) {
        const uint8_t rgb[3] = {static_cast<uint8_t>(maxc), static_cast<uint8_t>(maxc - chroma),
                                static_cast<uint8_t>(maxc - chroma)};
        pil_rgb_to_hsv(rgb, hsv);
        saturation[static_cast<size_t>(maxc * 256 + chroma)] = hsv[1];
      }
    }
    for (int i = 0; i < 256; ++i) {
      const auto u = static_cast<uint8_t>(i);
      sector[static_cast<size_t>(i)] = static_cast<uint8_t>(hsv_sector(u) % 6);
      fraction[static_cast<size_t>(i)] = hsv_fraction(u);
      unit_saturation[static_cast<size_t>(i)] = hsv_unit_saturation(u);
      for (int v = 0; v < 256; ++v)
        p[static_cast<size_t>(i * 256 + v)] = hsv_p(unit_saturation[static_cast<size_t>(i)], static_cast<uint8_t>(v));
    }
  }
};

const HsvTables& hsv_tables() {
  static const HsvTables tables;
  return tables;
}

// np.uint8(hue * 255): truncation toward zero, then wrap-around modulo 256.
int hue_shift_byte(double hue_shift) {
  if (hue_shift < -0.5 || hue_shift > 0.5) {
    throw std::invalid_argument("adjust_hue: shift " + std::to_string(hue_shift) + " not in [-0.5, 0.5]");
  }
  return ((static_cast<int>(hue_shift * 255.0) % 256) + 256) % 256;
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
  apply_table(rgb, blend_table(0, static_cast<float>(factor)));
}

void adjust_contrast(cv::Mat& rgb, double factor) {
  check_rgb(rgb, "adjust_contrast");
  int64_t sum = 0;
  for_each_pixel(rgb, [&sum](const uint8_t* p) { sum += pil_luma(p[0], p[1], p[2]); });
  const double count = static_cast<double>(rgb.total());
  const int mean = count > 0 ? static_cast<int>(static_cast<double>(sum) / count + 0.5) : 0;
  apply_table(rgb, blend_table(mean, static_cast<float>(factor)));
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
  const int shift = hue_shift_byte(hue_shift);
  const HsvTables& t = hsv_tables();
  for_each_pixel(rgb, [shift, &t](uint8_t* px) {
    const HueKey key = hue_key(px[0], px[1], px[2]);
    if (key.index < 0) return;  // grey: S = 0, converts back to itself
    const auto v = static_cast<uint8_t>(key.value);
    const uint8_t s = t.saturation[static_cast<size_t>(v * 256 + key.chroma)];
    if (s == 0) {
      px[0] = px[1] = px[2] = v;
      return;
    }
    const auto h = static_cast<uint8_t>((t.hue[static_cast<size_t>(key.index)] + shift) & 0xff);
    const float f = t.fraction[h], fs = t.unit_saturation[s];
    const uint8_t values[4] = {v, t.p[static_cast<size_t>(s * 256 + v)], hsv_q(fs, f, v), hsv_t(fs, f, v)};
    const uint8_t* pick = kSectorPick[t.sector[h]];
    for (int c = 0; c < 3; ++c) px[c] = values[pick[c]];
  });
}

void to_grayscale_rgb(cv::Mat& rgb) {
  check_rgb(rgb, "to_grayscale_rgb");
  for_each_pixel(rgb, [](uint8_t* p) { p[0] = p[1] = p[2] = pil_luma(p[0], p[1], p[2]); });
}

namespace detail {

void adjust_hue_per_pixel(cv::Mat& rgb, double hue_shift) {
  check_rgb(rgb, "adjust_hue_per_pixel");
  const int shift = hue_shift_byte(hue_shift);
  for_each_pixel(rgb, [shift](uint8_t* p) {
    uint8_t hsv[3];
    pil_rgb_to_hsv(p, hsv);
    hsv[0] = static_cast<uint8_t>((hsv[0] + shift) & 0xff);
    pil_hsv_to_rgb(hsv, p);
  });
}

}  // namespace detail
}  // namespace vifi::data
