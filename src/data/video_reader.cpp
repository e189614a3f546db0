// Sparse frame decoding with libav (see video_reader.h for the contract).
//
// Opening demuxes every packet once, without decoding, to build a FrameIndex: frame i is the
// packet with the i-th smallest timestamp. Reading sorts the wanted frames and, for each one not
// yet produced, either decodes on from where the decoder stands (when it already stands at or
// past the keyframe the frame needs) or seeks to that keyframe; decoded frames are named by
// their timestamp through the index, and only wanted ones are converted to RGB.
//
// Safety nets, because containers lie: a seek that lands after the keyframe asked for falls
// back to the start of the file; decoded timestamps that contradict the index (unknown time,
// a gap in the numbering, a wanted frame that never comes) switch this reader to numbering
// frames by counting the decoder's output from the start, which is what a full decode does.
#include "vifi/data/video_reader.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <utility>

#include "ffmpeg_handles.h"
#include "video_index.h"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace vifi::data {

static_assert(kNoTime == AV_NOPTS_VALUE, "FrameIndex's missing time must be FFmpeg's");

namespace {

// How decoded frames are numbered during one pass over the decoder.
enum class Numbering { timestamps, counting };

// Thrown inside a timestamp-numbered read when the decoder contradicts the index; read_frames
// catches it and starts over in counting mode.
struct TimestampMismatch {
  std::string reason;
};

int64_t frame_time(const AVFrame* f) {
  return f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
}

// The wanted frames of one request, sorted and unique, with a slot for each decoded image.
class WantedFrames {
 public:
  explicit WantedFrames(const std::vector<int64_t>& indices) : sorted_(indices) {
    std::sort(sorted_.begin(), sorted_.end());
    sorted_.erase(std::unique(sorted_.begin(), sorted_.end()), sorted_.end());
    images_.resize(sorted_.size());
  }
  const std::vector<int64_t>& sorted() const { return sorted_; }
  int64_t slot(int64_t frame) const {
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), frame);
    return it != sorted_.end() && *it == frame ? it - sorted_.begin() : -1;
  }
  bool has(int64_t slot) const { return !images_[static_cast<size_t>(slot)].empty(); }
  void set(int64_t slot, cv::Mat image) { images_[static_cast<size_t>(slot)] = std::move(image); }
  int64_t first_missing() const {
    for (size_t s = 0; s < sorted_.size(); ++s) {
      if (images_[s].empty()) return sorted_[s];
    }
    return -1;
  }
  void clear() { std::fill(images_.begin(), images_.end(), cv::Mat()); }

  // In the caller's order; a repeated index gets its own copy so callers may edit in place.
  std::vector<cv::Mat> in_order(const std::vector<int64_t>& indices) const {
    std::vector<cv::Mat> out;
    std::vector<bool> handed_out(sorted_.size(), false);
    for (int64_t frame : indices) {
      auto s = static_cast<size_t>(slot(frame));
      out.push_back(handed_out[s] ? images_[s].clone() : images_[s]);
      handed_out[s] = true;
    }
    return out;
  }

 private:
  std::vector<int64_t> sorted_;
  std::vector<cv::Mat> images_;
};

// Where the decoder stands between packets, and how its output is being numbered.
struct Cursor {
  bool valid = false;          // fed in decode order since a seek; false before any / after EOF
  Numbering numbering = Numbering::timestamps;
  int64_t next_packet = -1;    // decode position of the next packet to read; -1 when unknown
  int64_t last_frame = -1;     // number of the last frame the decoder output
  int64_t first_trusted = 0;   // frames numbered below this precede the seek keyframe
  bool draining = false;       // end of stream reached, flush signal sent
};

AVPixelFormat without_deprecated_range(AVPixelFormat format, bool* full_range) {
  switch (format) {
    case AV_PIX_FMT_YUVJ420P: *full_range = true; return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P: *full_range = true; return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P: *full_range = true; return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P: *full_range = true; return AV_PIX_FMT_YUV440P;
    default: return format;
  }
}

}  // namespace

struct VideoReader::Impl {
  std::string path;
  VideoReaderOptions options;
  ff::InputPtr input;
  ff::CodecPtr decoder;
  ff::PacketPtr packet{av_packet_alloc()};
  ff::FramePtr frame{av_frame_alloc()};
  ff::SwsPtr sws;
  int stream = -1;
  FrameIndex index;
  VideoInfo info;
  DecodeStats stats;
  Cursor cursor;
  bool timestamps_trusted = true;

  Impl(std::string p, const VideoReaderOptions& o) : path(std::move(p)), options(o) {
    ff::route_ffmpeg_logs();
    ff::check_alloc<VideoError>(packet.get(), path, "av_packet_alloc");
    ff::check_alloc<VideoError>(frame.get(), path, "av_frame_alloc");
    open_input();
    choose_stream();
    open_decoder();
    build_index();
    describe();
  }

  // ---- opening ----------------------------------------------------------------------------
  void open_input() {
    AVFormatContext* raw = nullptr;
    int rc = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
    if (rc == AVERROR_EOF) {
      throw VideoError(path + ": cannot open: the file ends before its first frame (empty or truncated)");
    }
    if (rc < 0) throw VideoError(path + ": cannot open: " + ff::error_text(rc));
    input.reset(raw);
    rc = avformat_find_stream_info(input.get(), nullptr);
    if (rc < 0) throw VideoError(path + ": cannot read stream info: " + ff::error_text(rc));
  }

  void choose_stream() {
    const AVCodec* codec = nullptr;
    int rc = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (rc == AVERROR_STREAM_NOT_FOUND) {
      throw VideoError(path + ": not a video: no video stream among " +
                       std::to_string(input->nb_streams) + " stream(s)");
    }
    if (rc == AVERROR_DECODER_NOT_FOUND) {
      throw VideoError(path + ": no decoder in this FFmpeg build for the video codec");
    }
    stream = ff::check<VideoError>(rc, path, "av_find_best_stream");
    // Other streams (audio, subtitles) are dropped by the demuxer instead of handed to us.
    for (unsigned i = 0; i < input->nb_streams; ++i) {
      if (static_cast<int>(i) != stream) input->streams[i]->discard = AVDISCARD_ALL;
    }
  }

  void open_decoder() {
    AVStream* st = input->streams[stream];
    const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) {
      throw VideoError(path + ": no decoder for video codec " +
                       avcodec_get_name(st->codecpar->codec_id));
    }
    decoder.reset(ff::check_alloc<VideoError>(avcodec_alloc_context3(codec), path,
                                              "avcodec_alloc_context3"));
    ff::check<VideoError>(avcodec_parameters_to_context(decoder.get(), st->codecpar), path,
                          "avcodec_parameters_to_context");
    decoder->thread_count = std::max(1, options.decoder_threads);
    decoder->pkt_timebase = st->time_base;
    ff::check<VideoError>(avcodec_open2(decoder.get(), codec, nullptr), path, "avcodec_open2");
  }

  // Demuxes the whole file once; packets are read, not decoded (cheap next to decoding).
  void build_index() {
    std::vector<PacketEntry> packets;
    bool last_incomplete = false;
    for (;;) {
      int rc = av_read_frame(input.get(), packet.get());
      if (rc == AVERROR_EOF) break;
      if (rc < 0) {
        throw VideoError(path + ": cannot read packet after " + std::to_string(packets.size()) +
                         " video packets (truncated or corrupt file): " + ff::error_text(rc));
      }
      ff::PacketRef unref(packet.get());
      if (packet->stream_index != stream || packet->size == 0) continue;
      packets.push_back({packet->pts, packet->dts,
                         (packet->flags & AV_PKT_FLAG_KEY) != 0,
                         (packet->flags & AV_PKT_FLAG_DISCARD) != 0});
      last_incomplete = (packet->flags & AV_PKT_FLAG_CORRUPT) != 0;
    }
    int64_t num_packets = static_cast<int64_t>(packets.size());
    index = FrameIndex(std::move(packets));
    check_complete(num_packets, last_incomplete);
    timestamps_trusted = index.has_timestamps();
    if (index.num_frames() == 0) {
      throw VideoError(path + ": no video frames (the video stream is empty)");
    }
  }

  // A file cut short keeps its header, which still tells how much should follow: the demuxer
  // finds fewer packets than the header declares (AVI, MP4), a last packet shorter than its
  // declared size (AVI), or frames spanning much less time than the track's duration (WebM).
  void check_complete(int64_t num_packets, bool last_incomplete) const {
    int64_t declared = input->streams[stream]->nb_frames;
    if (declared > 0 && num_packets < declared) {
      throw VideoError(path + ": truncated: the container declares " + std::to_string(declared) +
                       " video frames, only " + std::to_string(num_packets) + " are present");
    }
    if (last_incomplete) {
      throw VideoError(path + ": truncated: the last video packet is incomplete");
    }
    double expected = declared_seconds(), present = indexed_seconds();
    // Generous margins: only a file missing a real part of its video is refused.
    if (expected > 0 && present >= 0 && present + 0.5 < expected && present < 0.9 * expected) {
      char message[160];
      std::snprintf(message, sizeof(message),
                    ": truncated: the video track lasts %.2f s but its frames cover only %.2f s",
                    expected, present);
      throw VideoError(path + message);
    }
  }

  // The video track's own duration, not the file's (an audio track may be longer); -1 if the
  // container does not say. Matroska keeps it in a per-track DURATION tag.
  double declared_seconds() const {
    const AVStream* st = input->streams[stream];
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0) return st->duration * av_q2d(st->time_base);
    const AVDictionaryEntry* tag = av_dict_get(st->metadata, "DURATION", nullptr, 0);
    int hours = 0, minutes = 0;
    double seconds = 0;
    if (tag && std::sscanf(tag->value, "%d:%d:%lf", &hours, &minutes, &seconds) == 3) {
      return hours * 3600.0 + minutes * 60.0 + seconds;
    }
    return -1;
  }

  // Time from the first frame to the end of the last, taking the mean frame gap as its length.
  double indexed_seconds() const {
    if (!index.has_timestamps() || index.num_frames() == 0) return -1;
    int64_t n = index.num_frames();
    double span = static_cast<double>(index.frame_time(n - 1) - index.frame_time(0));
    double last_gap = n > 1 ? span / static_cast<double>(n - 1) : 0.0;
    return (span + last_gap) * av_q2d(input->streams[stream]->time_base);
  }

  void describe() {
    AVStream* st = input->streams[stream];
    info.num_frames = index.num_frames();
    info.width = st->codecpar->width;
    info.height = st->codecpar->height;
    info.codec = avcodec_get_name(st->codecpar->codec_id);
    AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate
                                                 : av_guess_frame_rate(input.get(), st, nullptr);
    info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
  }

  // ---- positioning ------------------------------------------------------------------------
  // Seeks so that decoding starts at or before packet `key`, flushing the decoder. Counts one
  // seek. Falls back to reopening the file when the demuxer cannot land there.
  void seek_to_packet(int64_t key, Numbering numbering, int64_t first_trusted) {
    ++stats.seeks;
    avcodec_flush_buffers(decoder.get());
    cursor = Cursor{true, numbering, -1, first_trusted - 1, first_trusted, false};
    if (try_seek(key)) return;
    util::log_debug(path + ": seek to packet " + std::to_string(key) + " missed; reading from the start");
    reopen();
    if (key > 0 && skip_to(key)) return;
    if (key > 0) reopen();  // the packets did not match the index: decode from the very start
    cursor.next_packet = 0;
  }

  // Seeks to `key`'s timestamp, then reads (without decoding) up to packet `key` and feeds it
  // to the decoder. Demuxers key their seek index on their own notion of time (MP4 on a dts
  // shifted by the B-frame delay), so they often land a keyframe early: skipping the packets in
  // between costs reading them, not decoding them. A landing after `key` is refused.
  bool try_seek(int64_t key) {
    const PacketEntry& entry = index.packet(key);
    int64_t ts = entry.dts != kNoTime ? entry.dts : entry.time;
    if (ts == kNoTime) return false;
    if (av_seek_frame(input.get(), stream, ts, AVSEEK_FLAG_BACKWARD) < 0) return false;
    return skip_to(key);
  }

  // Reads packets until packet `key`, sends it; false if the stream passes it or ends.
  bool skip_to(int64_t key) {
    for (;;) {
      if (av_read_frame(input.get(), packet.get()) < 0) return false;
      ff::PacketRef unref(packet.get());
      if (packet->stream_index != stream || packet->size == 0) continue;
      int64_t landed = index.packet_position(packet->pts, packet->dts);
      if (landed < 0 || landed > key) return false;
      if (landed < key) continue;
      send(landed);
      return true;
    }
  }

  // The fallback that always works: a fresh demuxer positioned at the first packet.
  void reopen() {
    input.reset();
    open_input();
    for (unsigned i = 0; i < input->nb_streams; ++i) {
      if (static_cast<int>(i) != stream) input->streams[i]->discard = AVDISCARD_ALL;
    }
  }

  // ---- decoding ---------------------------------------------------------------------------
  // Sends the packet in `packet` (at decode position `pos`, -1 if unknown). A packet without
  // pts gets the index's time, which the decoder carries over to the frame it codes.
  void send(int64_t pos) {
    cursor.next_packet = pos >= 0 ? pos + 1 : -1;
    if (cursor.numbering == Numbering::timestamps && packet->pts == AV_NOPTS_VALUE && pos >= 0) {
      packet->pts = index.packet(pos).time;
    }
    int rc = avcodec_send_packet(decoder.get(), packet.get());
    // A damaged packet is skipped as ffmpeg itself does; the numbering checks notice the hole.
    if (rc == AVERROR_INVALIDDATA) {
      util::log_debug(path + ": decoder rejected a packet: " + ff::error_text(rc));
      return;
    }
    ff::check<VideoError>(rc, path, "avcodec_send_packet");
    ++stats.frames_decoded;
  }

  // Reads the next video packet and sends it, or sends the flush signal at end of stream.
  void feed() {
    for (;;) {
      int rc = av_read_frame(input.get(), packet.get());
      if (rc == AVERROR_EOF) {
        cursor.draining = true;
        cursor.next_packet = -1;
        ff::check<VideoError>(avcodec_send_packet(decoder.get(), nullptr), path,
                              "avcodec_send_packet(flush)");
        return;
      }
      ff::check<VideoError>(rc, path, "av_read_frame");
      ff::PacketRef unref(packet.get());
      if (packet->stream_index != stream || packet->size == 0) continue;
      int64_t pos = cursor.next_packet;
      if (cursor.numbering == Numbering::timestamps) pos = index.packet_position(packet->pts, packet->dts);
      send(pos);
      return;
    }
  }

  // Decodes until a frame numbered `until` or later comes out, or the stream ends.
  void decode_until(int64_t until, WantedFrames& wanted) {
    for (;;) {
      int rc = avcodec_receive_frame(decoder.get(), frame.get());
      if (rc == 0) {
        take_frame(wanted);
        if (cursor.last_frame >= until) return;
        continue;
      }
      if (rc == AVERROR_EOF) {
        cursor.valid = false;
        return;
      }
      if (rc != AVERROR(EAGAIN)) ff::check<VideoError>(rc, path, "avcodec_receive_frame");
      feed();
    }
  }

  void take_frame(WantedFrames& wanted) {
    ++stats.frames_output;
    int64_t number = number_frame();
    if (number >= cursor.first_trusted) {
      int64_t slot = wanted.slot(number);
      if (slot >= 0 && !wanted.has(slot)) wanted.set(slot, to_rgb(frame.get()));
    }
    av_frame_unref(frame.get());
  }

  // Names the frame just decoded; in timestamp mode also checks the index's story holds.
  int64_t number_frame() {
    if (cursor.numbering == Numbering::counting) return ++cursor.last_frame;
    int64_t time = frame_time(frame.get());
    int64_t number = index.frame_at_time(time);
    if (number < 0) {
      throw TimestampMismatch{"a decoded frame has time " + std::to_string(time) +
                              ", which no packet has"};
    }
    if (number < cursor.first_trusted) return number;  // open-GOP leading frame: not ours
    if (number != cursor.last_frame + 1) {
      throw TimestampMismatch{"frame " + std::to_string(number) + " came after frame " +
                              std::to_string(cursor.last_frame)};
    }
    return cursor.last_frame = number;
  }

  cv::Mat to_rgb(const AVFrame* f) {
    bool full_range = f->color_range == AVCOL_RANGE_JPEG;
    AVPixelFormat format = without_deprecated_range(static_cast<AVPixelFormat>(f->format), &full_range);
    sws.reset(sws_getCachedContext(sws.release(), f->width, f->height, format, f->width,
                                   f->height, AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr, nullptr,
                                   nullptr));
    if (!sws) {
      throw VideoError(path + ": cannot convert pixel format " +
                       std::string(av_get_pix_fmt_name(format) ? av_get_pix_fmt_name(format) : "?") +
                       " to RGB");
    }
    // Honour the stream's colour matrix (BT.709 for HD) as FFmpeg's scale filter does.
    int space = f->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : f->colorspace;
    sws_setColorspaceDetails(sws.get(), sws_getCoefficients(space), full_range ? 1 : 0,
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    cv::Mat rgb(f->height, f->width, CV_8UC3);
    uint8_t* dst[4] = {rgb.data, nullptr, nullptr, nullptr};
    int dst_stride[4] = {static_cast<int>(rgb.step[0]), 0, 0, 0};
    sws_scale(sws.get(), f->data, f->linesize, 0, f->height, dst, dst_stride);
    return rgb;
  }

  // ---- the two read strategies ------------------------------------------------------------
  // Sparse: per wanted frame, decode on if the decoder already stands at or past its keyframe
  // (fewer frames than seeking), else seek to the keyframe.
  void read_by_timestamps(WantedFrames& wanted) {
    for (int64_t target : wanted.sorted()) {
      if (wanted.has(wanted.slot(target))) continue;
      int64_t key = index.start_packet(target);
      if (!can_decode_on_to(target, key)) {
        int64_t first_trusted = index.first_frame_at_or_after(index.packet(key).time);
        seek_to_packet(key, Numbering::timestamps, std::min(first_trusted, target));
      }
      decode_until(target, wanted);
      if (!wanted.has(wanted.slot(target))) {
        throw TimestampMismatch{"frame " + std::to_string(target) +
                                " did not come out after its keyframe"};
      }
    }
  }

  bool can_decode_on_to(int64_t target, int64_t key) const {
    return cursor.valid && !cursor.draining && cursor.numbering == Numbering::timestamps &&
           cursor.last_frame < target && cursor.next_packet >= 0 && cursor.next_packet >= key;
  }

  // Counting: decode from the first packet, numbering frames in output order (a full decode's
  // numbering); continues from the current position when it has not passed the first wanted.
  void read_by_counting(WantedFrames& wanted, int64_t until) {
    int64_t first = wanted.sorted().front();
    bool can_decode_on = cursor.valid && !cursor.draining &&
                         cursor.numbering == Numbering::counting && cursor.last_frame < first;
    if (!can_decode_on) seek_to_packet(0, Numbering::counting, 0);
    decode_until(until, wanted);
    int64_t missing = wanted.first_missing();
    if (missing >= 0) {
      throw VideoError(path + ": frame " + std::to_string(missing) + " of " +
                       std::to_string(info.num_frames) +
                       " could not be decoded (truncated or corrupt file); the decoder produced " +
                       std::to_string(cursor.last_frame + 1) + " frames");
    }
  }

  void check_indices(const std::vector<int64_t>& indices) const {
    for (int64_t i : indices) {
      if (i < 0 || i >= info.num_frames) {
        throw std::out_of_range(path + ": frame index " + std::to_string(i) +
                                " out of range [0, " + std::to_string(info.num_frames) + ")");
      }
    }
  }
};

VideoReader::VideoReader(const std::string& path, const VideoReaderOptions& options)
    : impl_(std::make_unique<Impl>(path, options)) {}
VideoReader::~VideoReader() = default;
VideoReader::VideoReader(VideoReader&&) noexcept = default;
VideoReader& VideoReader::operator=(VideoReader&&) noexcept = default;

const VideoInfo& VideoReader::info() const { return impl_->info; }
const std::string& VideoReader::path() const { return impl_->path; }
const DecodeStats& VideoReader::stats() const { return impl_->stats; }

std::vector<cv::Mat> VideoReader::read_frames(const std::vector<int64_t>& indices) {
  Impl& r = *impl_;
  r.check_indices(indices);
  if (indices.empty()) return {};
  WantedFrames wanted(indices);
  if (r.timestamps_trusted) {
    try {
      r.read_by_timestamps(wanted);
      return wanted.in_order(indices);
    } catch (const TimestampMismatch& mismatch) {
      util::log_warn(r.path + ": frame timestamps disagree with the packet index (" +
                     mismatch.reason + "); numbering frames by decoding from the start");
      r.timestamps_trusted = false;
      ++r.stats.timestamp_fallbacks;
      r.cursor.valid = false;
      wanted.clear();
    }
  }
  r.read_by_counting(wanted, wanted.sorted().back());
  return wanted.in_order(indices);
}

std::vector<cv::Mat> VideoReader::read_frames_full_decode(const std::vector<int64_t>& indices) {
  Impl& r = *impl_;
  r.check_indices(indices);
  WantedFrames wanted(indices);
  r.seek_to_packet(0, Numbering::counting, 0);
  r.decode_until(std::numeric_limits<int64_t>::max(), wanted);
  if (!indices.empty() && wanted.first_missing() >= 0) {
    throw VideoError(r.path + ": frame " + std::to_string(wanted.first_missing()) + " of " +
                     std::to_string(r.info.num_frames) + " missing from a full decode of " +
                     std::to_string(r.cursor.last_frame + 1) + " frames (truncated or corrupt file)");
  }
  return wanted.in_order(indices);
}

}  // namespace vifi::data
