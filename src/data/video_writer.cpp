// libav encode + mux loop for synthetic videos (see video_writer.h).
#include "video_writer.h"

extern "C" {
#include <libavutil/display.h>
}

#include <stdexcept>

#include "ffmpeg_handles.h"

extern "C" {
#include <libavutil/opt.h>
}

namespace vifi::data {
namespace {

using Error = std::runtime_error;

// Quality is set high enough that the frame-index stamp survives any of these codecs.
void configure_mpeg4(AVCodecContext* c, const EncoderSettings& s) {
  c->flags |= AV_CODEC_FLAG_QSCALE;
  c->global_quality = FF_QP2LAMBDA * 3;
  c->max_b_frames = s.max_b_frames >= 0 ? s.max_b_frames : 0;
}

// XviD writes B-frames the way DivX 5 did, "packed": the first of a run rides in the packet of
// the P-frame decoded before it, an empty placeholder packet ends the run; HMDB-51's and
// UCF-101's AVIs store them so. Same quality as configure_mpeg4, B-frames by default.
void configure_xvid(AVCodecContext* c, const EncoderSettings& s) {
  configure_mpeg4(c, s);
  c->max_b_frames = s.max_b_frames >= 0 ? s.max_b_frames : 2;
}

void configure_h264(AVCodecContext* c, const EncoderSettings& s) {
  c->max_b_frames = s.max_b_frames >= 0 ? s.max_b_frames : 3;
  c->keyint_min = s.gop_size;
  av_opt_set(c->priv_data, "preset", s.preset.c_str(), 0);
  av_opt_set(c->priv_data, "crf", std::to_string(s.crf).c_str(), 0);
  // A fixed GOP keeps keyframe spacing predictable for the seek tests.
  av_opt_set(c->priv_data, "x264-params",
             s.open_gop ? "scenecut=0:b-pyramid=normal:open-gop=1" : "scenecut=0:b-pyramid=normal", 0);
}

// Every frame a keyframe: decoding a sampled frame costs that frame only.
void configure_mjpeg(AVCodecContext* c, const EncoderSettings& s) {
  c->pix_fmt = AV_PIX_FMT_YUVJ420P;  // full-range YUV, what JPEG decoders expect
  c->flags |= AV_CODEC_FLAG_QSCALE;
  c->global_quality = FF_QP2LAMBDA * s.mjpeg_quality;
  c->max_b_frames = 0;
}

void configure_vp9(AVCodecContext* c, const EncoderSettings&) {
  c->bit_rate = 0;  // constant quality
  av_opt_set(c->priv_data, "crf", "24", 0);
  av_opt_set(c->priv_data, "deadline", "good", 0);
  av_opt_set(c->priv_data, "cpu-used", "5", 0);
  // Alt-ref frames are invisible frames, as in real WebM files: the reader must not count them.
  av_opt_set(c->priv_data, "auto-alt-ref", "1", 0);
  av_opt_set(c->priv_data, "lag-in-frames", "16", 0);
}

}  // namespace

std::string encoder_name(const std::string& codec) {
  if (codec == "mpeg4") return "mpeg4";
  if (codec == "h264") return "libx264";
  if (codec == "vp9") return "libvpx-vp9";
  if (codec == "mjpeg") return "mjpeg";
  if (codec == "xvid") return "libxvid";
  throw std::invalid_argument("unknown codec '" + codec + "'; expected one of: mpeg4, h264, vp9, mjpeg, xvid");
}

struct VideoWriter::Impl {
  std::string path;
  EncoderSettings settings;
  ff::OutputPtr output;
  ff::CodecPtr encoder;
  ff::FramePtr yuv{av_frame_alloc()};
  ff::PacketPtr packet{av_packet_alloc()};
  ff::SwsPtr sws;
  AVStream* stream = nullptr;

  Impl(std::string p, const EncoderSettings& s) : path(std::move(p)), settings(s) {
    ff::route_ffmpeg_logs();
    ff::check_alloc<Error>(yuv.get(), path, "av_frame_alloc");
    ff::check_alloc<Error>(packet.get(), path, "av_packet_alloc");
    open_output();
    open_encoder();
    allocate_frame();
    open_file();
  }

  void open_output() {
    AVFormatContext* raw = nullptr;
    int rc = avformat_alloc_output_context2(&raw, nullptr, nullptr, path.c_str());
    if (rc < 0 || !raw) {
      throw Error(path + ": no container format for this extension: " + ff::error_text(rc));
    }
    output.reset(raw);
    stream = ff::check_alloc<Error>(avformat_new_stream(output.get(), nullptr), path,
                                    "avformat_new_stream");
  }

  AVRational time_base() const {
    if (settings.millisecond_timestamps) return AVRational{1, 1000};
    return av_inv_q(av_d2q(settings.fps, 100000));
  }

  void open_encoder() {
    std::string name = encoder_name(settings.codec);
    const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
    if (!codec) throw Error(path + ": encoder " + name + " is not in this FFmpeg build");
    encoder.reset(ff::check_alloc<Error>(avcodec_alloc_context3(codec), path,
                                         "avcodec_alloc_context3"));
    AVCodecContext* c = encoder.get();
    c->width = settings.width;
    c->height = settings.height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = time_base();
    c->framerate = av_d2q(settings.fps, 100000);
    c->gop_size = settings.gop_size;
    c->thread_count = 1;  // deterministic output, and the test machines are small
    if (output->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (settings.codec == "mpeg4") configure_mpeg4(c, settings);
    if (settings.codec == "h264") configure_h264(c, settings);
    if (settings.codec == "vp9") configure_vp9(c, settings);
    if (settings.codec == "mjpeg") configure_mjpeg(c, settings);
    if (settings.codec == "xvid") configure_xvid(c, settings);
    ff::check<Error>(avcodec_open2(c, codec, nullptr), path, "avcodec_open2");
    ff::check<Error>(avcodec_parameters_from_context(stream->codecpar, c), path,
                     "avcodec_parameters_from_context");
    stream->time_base = c->time_base;
    stream->avg_frame_rate = c->framerate;
    if (settings.display_rotation != 0) add_display_matrix();
  }

  // What a phone writes for a picture to be shown turned. The matrix maps display to stored
  // coordinates, so a player (the FFmpeg CLI) turns the stored picture clockwise by the angle
  // the matrix is set with.
  void add_display_matrix() {
    auto* matrix = reinterpret_cast<int32_t*>(
        av_stream_new_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t)));
    ff::check_alloc<Error>(matrix, path, "av_stream_new_side_data");
    av_display_rotation_set(matrix, static_cast<double>(settings.display_rotation));
  }

  void allocate_frame() {
    yuv->format = encoder->pix_fmt;
    yuv->width = settings.width;
    yuv->height = settings.height;
    ff::check<Error>(av_frame_get_buffer(yuv.get(), 0), path, "av_frame_get_buffer");
  }

  // RGB of any size -> the encoder's YUV at the configured size.
  void convert(const cv::Mat& staged) {
    sws.reset(sws_getCachedContext(sws.release(), staged.cols, staged.rows, AV_PIX_FMT_RGB24, settings.width,
                                   settings.height, encoder->pix_fmt, SWS_BILINEAR, nullptr, nullptr, nullptr));
    ff::check_alloc<Error>(sws.get(), path, "sws_getCachedContext");
    const uint8_t* src[4] = {staged.data, nullptr, nullptr, nullptr};
    int src_stride[4] = {static_cast<int>(staged.step[0]), 0, 0, 0};
    sws_scale(sws.get(), src, src_stride, 0, staged.rows, yuv->data, yuv->linesize);
  }

  void open_file() {
    if (!(output->oformat->flags & AVFMT_NOFILE)) {
      ff::check<Error>(avio_open(&output->pb, path.c_str(), AVIO_FLAG_WRITE), path, "avio_open");
    }
    // MP4 index (moov) up front, as web-downloaded datasets (Kinetics) ship: a truncated copy
    // then still opens and the reader must notice the missing data itself.
    AVDictionary* options = nullptr;
    std::string format = output->oformat->name;
    if (format == "mp4" || format == "mov") av_dict_set(&options, "movflags", "+faststart", 0);
    int rc = avformat_write_header(output.get(), &options);
    av_dict_free(&options);
    ff::check<Error>(rc, path, "avformat_write_header");
  }

  // Moves every packet the encoder has ready into the file.
  void drain() {
    for (;;) {
      int rc = avcodec_receive_packet(encoder.get(), packet.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      ff::check<Error>(rc, path, "avcodec_receive_packet");
      av_packet_rescale_ts(packet.get(), encoder->time_base, stream->time_base);
      packet->stream_index = stream->index;
      // av_interleaved_write_frame takes the packet's reference, success or not.
      ff::check<Error>(av_interleaved_write_frame(output.get(), packet.get()), path,
                       "av_interleaved_write_frame");
    }
  }

  void write(const cv::Mat& rgb, int64_t pts) {
    if (rgb.type() != CV_8UC3 || rgb.empty()) throw std::invalid_argument(path + ": frame must be a CV_8UC3 image");
    // The encoder may still hold the previous frame's buffer: get a writable one.
    ff::check<Error>(av_frame_make_writable(yuv.get()), path, "av_frame_make_writable");
    cv::Mat staged = ff::padded_rgb_image(rgb.cols, rgb.rows);  // swscale reads past row ends
    rgb.copyTo(staged);
    convert(staged);
    yuv->pts = pts;
    ff::check<Error>(avcodec_send_frame(encoder.get(), yuv.get()), path, "avcodec_send_frame");
    drain();
  }

  void finish() {
    ff::check<Error>(avcodec_send_frame(encoder.get(), nullptr), path, "avcodec_send_frame(flush)");
    drain();
    ff::check<Error>(av_write_trailer(output.get()), path, "av_write_trailer");
  }
};

VideoWriter::VideoWriter(const std::string& path, const EncoderSettings& settings)
    : impl_(std::make_unique<Impl>(path, settings)) {}
VideoWriter::~VideoWriter() = default;
void VideoWriter::write(const cv::Mat& rgb, int64_t pts) { impl_->write(rgb, pts); }
void VideoWriter::finish() { impl_->finish(); }

}  // namespace vifi::data
