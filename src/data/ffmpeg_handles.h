// Private to src/data: RAII owners for FFmpeg handles, error-code-to-message helpers, and the
// routing of FFmpeg's own log lines into vifi's logging facade.
// Every libav object vifi creates is held by one of the unique_ptr aliases below, so an
// exception thrown halfway through opening or encoding a file leaks nothing.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
}

#include <opencv2/core.hpp>

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "vifi/util/logging.h"

namespace vifi::data::ff {

// Demuxer opened with avformat_open_input.
struct InputCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
using InputPtr = std::unique_ptr<AVFormatContext, InputCloser>;

// Muxer from avformat_alloc_output_context2; closes its AVIOContext too if one was opened.
struct OutputCloser {
  void operator()(AVFormatContext* c) const {
    if (c->pb && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
using OutputPtr = std::unique_ptr<AVFormatContext, OutputCloser>;

struct CodecCloser {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using CodecPtr = std::unique_ptr<AVCodecContext, CodecCloser>;

struct FrameFreer {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameFreer>;

struct PacketFreer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketFreer>;

struct SwsFreer {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using SwsPtr = std::unique_ptr<SwsContext, SwsFreer>;

// Unreferences a packet when the scope that filled it ends, whichever way it ends.
class PacketRef {
 public:
  explicit PacketRef(AVPacket* p) : p_(p) {}
  ~PacketRef() { av_packet_unref(p_); }
  PacketRef(const PacketRef&) = delete;
  PacketRef& operator=(const PacketRef&) = delete;

 private:
  AVPacket* p_;
};

// An RGB image (CV_8UC3) whose rows and end leave room for swscale's vector loads and stores:
// its x86 paths process whole SIMD registers, up to 32 pixels past a row's last one. On a
// picture a few pixels wide, an unpadded buffer let it write into the heap (a file whose size
// changes mid-stream to a tiny one corrupted malloc's bookkeeping) and read past the end of the
// image handed to it. The image is a view into a wider, one-row-taller buffer it keeps alive;
// its rows are therefore not contiguous.
inline cv::Mat padded_rgb_image(int width, int height) {
  constexpr int kPadPixels = 64;
  const int padded_width = (width + kPadPixels + 31) / 32 * 32;
  cv::Mat buffer(height + 1, padded_width, CV_8UC3);
  return buffer(cv::Rect(0, 0, width, height));
}

inline std::string error_text(int rc) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(rc, buf, sizeof(buf));
  return buf;
}

// "path: call failed: reason", the message every libav failure turns into.
inline std::string failure(const std::string& path, const char* call, int rc) {
  return path + ": " + call + " failed: " + error_text(rc);
}

// Checked call: throws Error (VideoError when reading, std::runtime_error when writing)
// naming the file and the libav function.
template <class Error>
int check(int rc, const std::string& path, const char* call) {
  if (rc < 0) throw Error(failure(path, call, rc));
  return rc;
}

template <class Error, class T>
T* check_alloc(T* p, const std::string& path, const char* call) {
  if (!p) throw Error(path + ": " + call + " failed: out of memory");
  return p;
}

// FFmpeg prints to stderr by default, which would interleave decoder chatter about every
// damaged file with the training log. Its lines go to vifi's log at debug level instead: the
// reader reports failures itself, through VideoError. The callback is process-wide (FFmpeg
// has one), installed once on first use of a reader or writer.
inline void route_ffmpeg_logs() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_callback([](void* avcl, int level, const char* fmt, va_list args) {
      if (level > av_log_get_level()) return;
      thread_local int print_prefix = 1;
      char line[1024];
      av_log_format_line2(avcl, level, fmt, args, line, sizeof(line), &print_prefix);
      std::string text(line);
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      if (!text.empty()) vifi::util::log_debug("ffmpeg: " + text);
    });
  });
}

}  // namespace vifi::data::ff
