// Microbenchmark behind DATA.SCALE_FRAMES's default (docs/performance.md, "Where frames are
// scaled"): one wanted 4:2:0 frame brought to the transforms' short side either in swscale's
// YUV->RGB conversion (in_conversion: swscale's scaled path, SWS_BILINEAR as video_reader.cpp
// asks) or converted at its stored size by swscale's unscaled converter and then resized by
// OpenCV's bilinear resize (after_decode, the reference's order). Prints microseconds per frame.
//
//   build/vifi_frame_scaling_bench 454x340:256 454x340:224 1280x720:256
extern "C" {
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace {

double microseconds_per_call(int calls, const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) work();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / calls;
}

void measure(int width, int height, int short_side) {
  AVFrame* frame = av_frame_alloc();
  if (!frame) std::exit(1);
  frame->width = width;
  frame->height = height;
  frame->format = AV_PIX_FMT_YUV420P;
  if (av_frame_get_buffer(frame, 32) < 0) std::exit(1);
  for (int plane = 0; plane < 3; ++plane)  // a gradient: the cost does not depend on the content
    for (int y = 0; y < (plane ? height / 2 : height); ++y)
      for (int x = 0; x < (plane ? width / 2 : width); ++x)
        frame->data[plane][y * frame->linesize[plane] + x] = static_cast<uint8_t>(x * 7 + y * 13 + plane * 50);
  // resize_short_side's rounding (data/transforms.cpp).
  const double k = static_cast<double>(short_side) / std::min(width, height);
  const double out_w_exact = width * k + 0.5, out_h_exact = height * k + 0.5;
  if (out_w_exact > 8192 || out_h_exact > 8192) {
    std::fprintf(stderr, "%dx%d at short side %d is over 8192 pixels wide or high\n", width, height, short_side);
    std::exit(2);
  }
  const int out_w = static_cast<int>(out_w_exact), out_h = static_cast<int>(out_h_exact);
  const int calls = std::max(50, static_cast<int>(2e8 / (width * height)));

  auto convert = [&](int w, int h, cv::Mat& out) {
    SwsContext* sws = sws_getContext(width, height, AV_PIX_FMT_YUV420P, w, h, AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr,
                                     nullptr, nullptr);
    if (!sws) {
      std::fprintf(stderr, "swscale refuses %dx%d -> %dx%d\n", width, height, w, h);
      std::exit(1);
    }
    out.create(h, w, CV_8UC3);
    return sws;
  };
  cv::Mat full, scaled, resized;
  SwsContext* unscaled = convert(width, height, full);
  SwsContext* in_conversion = convert(out_w, out_h, scaled);
  const auto run = [&](SwsContext* sws, cv::Mat& out) {
    uint8_t* dst[1] = {out.data};
    int stride[1] = {static_cast<int>(out.step)};
    sws_scale(sws, frame->data, frame->linesize, 0, height, dst, stride);
  };
  const double after = microseconds_per_call(calls, [&] {
    run(unscaled, full);
    cv::resize(full, resized, cv::Size(out_w, out_h), 0, 0, cv::INTER_LINEAR);
  });
  const double during = microseconds_per_call(calls, [&] { run(in_conversion, scaled); });
  std::printf("%4dx%-4d -> %4dx%-4d  after_decode %7.1f us  in_conversion %7.1f us  (%.2fx)\n", width, height, out_w,
              out_h, after, during, during / after);
  sws_freeContext(unscaled);
  sws_freeContext(in_conversion);
  av_frame_free(&frame);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s WxH:SHORT_SIDE...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    int w = 0, h = 0, s = 0;
    if (std::sscanf(argv[i], "%dx%d:%d", &w, &h, &s) != 3 || w < 2 || h < 2 || s < 1 || w > 8192 || h > 8192 || s > 8192) {
      std::fprintf(stderr, "expected WxH:SHORT_SIDE (e.g. 454x340:256), got '%s'\n", argv[i]);
      return 2;
    }
    measure(w, h, s);
  }
  return 0;
}
