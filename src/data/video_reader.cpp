// Sparse frame decoding with libav (see video_reader.h for the contract).
//
// Opening demuxes every packet once, without decoding, to build a FrameIndex: frame i is the
// packet with the i-th smallest timestamp. Reading sorts the wanted frames and, for each one not
// yet produced, either decodes on from where the decoder stands (when it already stands at or
// past the keyframe the frame needs) or seeks to that keyframe; decoded frames are named by
// their timestamp through the index, and only wanted ones are converted to RGB.
//
// Frames decoded only to be passed on the way to a wanted one (not wanted themselves, named by
// the packet index or by a learned numbering, before the last wanted one) are sent with
// skip_frame = AVDISCARD_NONREF: a decoder drops such a frame only when no other frame
// references it, so the wanted frames are exactly a full decode's; the numbering then expects
// the gaps those frames leave (DATA.PASSED_FRAMES, config.h). Packed B-frames need one more
// rule (droppable_by_learned_numbering).
//
// Safety nets, because containers lie: a seek that lands after the keyframe asked for falls
// back to the start of the file; decoded timestamps that contradict the index (unknown time,
// a gap in the numbering, a wanted frame that never comes) switch this reader to numbering
// frames by counting the decoder's output from the start, which is what a full decode does.
// That first counting pass runs to the end and is remembered (frame_numbering.h; on disk for
// other processes, numbering_store.h), so the file's later clips seek again, each decoded frame
// checked against the full decode's record.
//
// A file is the frames a full decode yields: a packet the decoder rejects makes it corrupt
// wherever it is met (data check, training, evaluation), and a header that declares more
// frames than the stream holds is logged, not fatal, unless the file really ends early.
#include "vifi/data/video_reader.h"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "ffmpeg_handles.h"
#include "frame_numbering.h"
#include "numbering_store.h"
#include "video_index.h"

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

namespace vifi::data {

static_assert(kNoTime == AV_NOPTS_VALUE, "FrameIndex's missing time must be FFmpeg's");

const char* fault_name(VideoFault fault) {
  switch (fault) {
    case VideoFault::unreadable: return "unreadable";
    case VideoFault::empty: return "empty";
    case VideoFault::not_a_video: return "not a video";
    case VideoFault::no_video_stream: return "no video stream";
    case VideoFault::no_decoder: return "no decoder";
    case VideoFault::truncated: return "truncated";
    case VideoFault::corrupt: return "corrupt";
    case VideoFault::unsupported: return "unsupported";
  }
  return "?";
}

VideoError::VideoError(VideoFault fault, const std::string& path, const std::string& detail)
    : std::runtime_error(path + ": " + fault_name(fault) + ": " + detail), fault_(fault) {}

namespace {

// How decoded frames are numbered during one pass over the decoder: by the packet index's
// timestamps, by counting from the start, or by a numbering learned from a full decode.
enum class Numbering { timestamps, counting, learned };

// A file's oddities are logged once per process, not once per clip of every epoch; each
// oddity of a file once (its message names the file).
void warn_once(const std::string& message) {
  static std::mutex mutex;
  static std::unordered_set<std::string> warned;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!warned.insert(message).second) return;
  }
  util::log_warn(message);
}

// How the FFmpeg CLI turns a picture for display (fftools' autorotate, FFmpeg 5.1): from the
// display matrix, a turn by a multiple of 90 degrees, possibly mirrored.
enum class Orientation { as_stored, clockwise, counterclockwise, transpose, antitranspose, hflip, vflip, half_turn };

bool swaps_sides(Orientation o) {
  return o == Orientation::clockwise || o == Orientation::counterclockwise || o == Orientation::transpose ||
         o == Orientation::antitranspose;
}

cv::Mat oriented(const cv::Mat& image, Orientation o) {
  cv::Mat out;
  switch (o) {
    case Orientation::as_stored: return image;
    case Orientation::clockwise: cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE); return out;
    case Orientation::counterclockwise: cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE); return out;
    case Orientation::transpose: cv::transpose(image, out); return out;
    case Orientation::antitranspose: cv::transpose(image, out); cv::flip(out, out, -1); return out;
    case Orientation::hflip: cv::flip(image, out, 1); return out;
    case Orientation::vflip: cv::flip(image, out, 0); return out;
    case Orientation::half_turn: cv::flip(image, out, -1); return out;
  }
  return image;
}

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

  // In the caller's order; a repeated index shares its image (a 10-frame 8K clip sampled
  // 32 times holds 10 pictures, not 32).
  std::vector<cv::Mat> in_order(const std::vector<int64_t>& indices) const {
    std::vector<cv::Mat> out;
    out.reserve(indices.size());
    for (int64_t frame : indices) out.push_back(images_[static_cast<size_t>(slot(frame))]);
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
  Orientation orientation = Orientation::as_stored;
  FileKey key;                                         // this version of the file, for the cache
  std::shared_ptr<const LearnedNumbering> learned;     // set once a full decode numbered the file
  std::unique_ptr<LearnedNumbering> learning;          // being recorded by a counting pass from 0
  const WantedFrames* wanted_now = nullptr;            // the sparse request being decoded
  std::function<void(int64_t, const cv::Mat&)> sink;   // decode_all: gets every frame
  std::unordered_set<int64_t> passed_since_seek;       // frames sent as droppable since the seek
  int64_t index_entries_at_open = 0;                   // the container's own index, before demuxing

  Impl(std::string p, const VideoReaderOptions& o) : path(std::move(p)), options(o) {
    ff::route_ffmpeg_logs();
    if (!packet || !frame) throw std::bad_alloc();
    check_file();
    open_input();
    choose_stream();
    open_decoder();
    build_index();
    describe();
    bool from_store = false;
    learned = find_numbering(key, info.num_frames, index.num_packets(), options.numbering_store, &from_store);
    if (learned && learned->num_frames() == info.num_frames &&
        learned->frame_of_packet.size() == static_cast<size_t>(index.num_packets())) {
      timestamps_trusted = false;
      stats.stored_numberings += from_store ? 1 : 0;
    } else {
      learned.reset();
    }
  }

  [[noreturn]] void fail(VideoFault fault, const std::string& detail) const { throw VideoError(fault, path, detail); }

  // ---- opening ----------------------------------------------------------------------------
  // Faults FFmpeg would name vaguely ("Invalid data found") are named here first.
  void check_file() {
    namespace fs = std::filesystem;
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (!fs::exists(status)) {
      std::error_code link_error;
      const bool link = fs::is_symlink(fs::symlink_status(path, link_error));
      std::string cause = error && error != std::errc::no_such_file_or_directory ? error.message()
                                                                                 : "No such file or directory";
      if (link) cause = "a broken symbolic link (" + cause + ")";
      fail(VideoFault::unreadable, "cannot open: " + cause);
    }
    if (fs::is_directory(status)) fail(VideoFault::unreadable, "cannot open: it is a directory");
    if (fs::is_regular_file(status) && fs::file_size(path, error) == 0 && !error) {
      fail(VideoFault::empty, "the file is empty (0 bytes)");
    }
    key = file_key(path);
  }

  // An MP4/MOV starts with an 'ftyp' box; one that FFmpeg cannot open lost its index (moov),
  // which a cut download does when the index was written last.
  bool starts_like_mp4() const {
    char head[8] = {0};
    std::ifstream in(path, std::ios::binary);
    in.read(head, sizeof(head));
    return in.gcount() == 8 && std::string(head + 4, 4) == "ftyp";
  }

  void open_input() {
    AVFormatContext* raw = nullptr;
    int rc = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
    if (rc == AVERROR_EOF) fail(VideoFault::truncated, "cannot open: the file ends before its first frame");
    if (rc == AVERROR_INVALIDDATA && starts_like_mp4()) {
      fail(VideoFault::truncated, "cannot open: an MP4/MOV without its index (moov box): " + ff::error_text(rc));
    }
    if (rc == AVERROR_INVALIDDATA) fail(VideoFault::not_a_video, "cannot open: " + ff::error_text(rc));
    if (rc < 0) fail(VideoFault::unreadable, "cannot open: " + ff::error_text(rc));
    input.reset(raw);
    rc = avformat_find_stream_info(input.get(), nullptr);
    if (rc < 0) fail(VideoFault::corrupt, "cannot read stream info: " + ff::error_text(rc));
  }

  void choose_stream() {
    const AVCodec* codec = nullptr;
    int rc = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (rc == AVERROR_STREAM_NOT_FOUND) {
      fail(VideoFault::no_video_stream, "none among its " + std::to_string(input->nb_streams) + " stream(s)");
    }
    if (rc == AVERROR_DECODER_NOT_FOUND) fail(VideoFault::no_decoder, "this FFmpeg build cannot decode its video codec");
    if (rc < 0) fail(VideoFault::corrupt, ff::failure(path, "av_find_best_stream", rc));
    stream = rc;
    // Other streams (audio, subtitles) are dropped by the demuxer instead of handed to us.
    for (unsigned i = 0; i < input->nb_streams; ++i) {
      if (static_cast<int>(i) != stream) input->streams[i]->discard = AVDISCARD_ALL;
    }
  }

  void open_decoder() {
    AVStream* st = input->streams[stream];
    const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) fail(VideoFault::no_decoder, std::string("no decoder for video codec ") + avcodec_get_name(st->codecpar->codec_id));
    decoder.reset(avcodec_alloc_context3(codec));
    if (!decoder) throw std::bad_alloc();
    int rc = avcodec_parameters_to_context(decoder.get(), st->codecpar);
    if (rc < 0) fail(VideoFault::corrupt, "avcodec_parameters_to_context failed: " + ff::error_text(rc));
    decoder->thread_count = std::max(1, options.decoder_threads);
    decoder->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    decoder->pkt_timebase = st->time_base;
    rc = avcodec_open2(decoder.get(), codec, nullptr);
    if (rc < 0) fail(VideoFault::unsupported, "the decoder refuses the stream's parameters: " + ff::error_text(rc));
  }

  // Demuxes the whole file once; packets are read, not decoded (cheap next to decoding).
  void build_index() {
    index_entries_at_open = avformat_index_get_entries_count(input->streams[stream]);
    std::vector<PacketEntry> packets;
    bool last_incomplete = false;
    const AVCodecParameters* par = input->streams[stream]->codecpar;
    const bool mpeg4 = par->codec_id == AV_CODEC_ID_MPEG4;
    bool packed = mpeg4 && declares_packed_b_frames(par->extradata, static_cast<size_t>(std::max(par->extradata_size, 0)));
    for (;;) {
      int rc = av_read_frame(input.get(), packet.get());
      if (rc == AVERROR_EOF) break;
      if (rc < 0) {
        const std::string detail = "cannot read the packet after " + std::to_string(packets.size()) +
                                   " video packets: " + ff::error_text(rc);
        fail(at_end_of_file() ? VideoFault::truncated : VideoFault::corrupt, detail);
      }
      ff::PacketRef unref(packet.get());
      if (packet->stream_index != stream || packet->size == 0) continue;
      packets.push_back({packet->pts, packet->dts,
                         (packet->flags & AV_PKT_FLAG_KEY) != 0,
                         (packet->flags & AV_PKT_FLAG_DISCARD) != 0});
      last_incomplete = (packet->flags & AV_PKT_FLAG_CORRUPT) != 0;
      if (mpeg4 && !packed && (packet->flags & AV_PKT_FLAG_KEY)) {
        packed = declares_packed_b_frames(packet->data, static_cast<size_t>(packet->size));
      }
    }
    int64_t num_packets = static_cast<int64_t>(packets.size());
    index = FrameIndex(std::move(packets));
    check_complete(num_packets, last_incomplete);
    timestamps_trusted = index.has_timestamps() && !packed;
    if (index.num_frames() == 0) fail(VideoFault::empty, "no video frames (the video stream is empty)");
  }

  bool at_end_of_file() const {
    AVIOContext* pb = input->pb;
    if (!pb) return true;
    const int64_t size = avio_size(pb);
    return avio_feof(pb) || size <= 0 || avio_tell(pb) >= size;
  }

  // A header that disagrees with the stream is harmless when the container's own index covers
  // every packet present and points at nothing past the file's end (AVI drop-frame chunks, a
  // patched header); without such an index, or with entries beyond the end, data is missing.
  bool data_missing_at_end() const {
    AVStream* st = input->streams[stream];
    if (index_entries_at_open < index.num_packets()) return true;
    const int64_t size = input->pb ? avio_size(input->pb) : -1;
    if (size <= 0) return false;
    const int entries = avformat_index_get_entries_count(st);
    for (int i = 0; i < entries; ++i) {
      const AVIndexEntry* e = avformat_index_get_entry(st, i);
      if (e && e->pos + e->size > size) return true;
    }
    return false;
  }

  // A file cut short keeps its header, which still tells how much should follow: the demuxer
  // finds fewer packets than the header declares (AVI, MP4), a last packet shorter than its
  // declared size (AVI), or frames spanning much less time than the track's duration (WebM).
  void check_complete(int64_t num_packets, bool last_incomplete) {
    if (last_incomplete) fail(VideoFault::truncated, "the last video packet is incomplete");
    const int64_t declared = input->streams[stream]->nb_frames;
    info.declared_frames = std::max<int64_t>(declared, 0);
    std::string disagreement;
    if (declared > 0 && num_packets < declared) {
      disagreement = "the container declares " + std::to_string(declared) + " video frames, only " +
                     std::to_string(num_packets) + " are present";
    }
    const double expected = declared_seconds(), present = indexed_seconds();
    // Generous margins: only a file missing a real part of its video counts.
    if (disagreement.empty() && expected > 0 && present >= 0 && present + 0.5 < expected && present < 0.9 * expected) {
      char text[160];
      std::snprintf(text, sizeof(text), "the video track lasts %.2f s but its frames cover only %.2f s", expected, present);
      disagreement = text;
    }
    if (disagreement.empty()) return;
    if (data_missing_at_end()) fail(VideoFault::truncated, disagreement);
    warn_once(path + ": its header disagrees with its stream (" + disagreement +
                        "); the file is read as the " + std::to_string(num_packets) + " frames it holds");
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
    read_orientation();
    const bool swap = swaps_sides(orientation);
    info.width = swap ? st->codecpar->height : st->codecpar->width;
    info.height = swap ? st->codecpar->width : st->codecpar->height;
    info.codec = avcodec_get_name(st->codecpar->codec_id);
    AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate
                                                 : av_guess_frame_rate(input.get(), st, nullptr);
    info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
  }

  // The display matrix phones write (or an old-style rotate tag), turned into what the FFmpeg
  // CLI applies before showing a frame (fftools get_rotation + its transpose/flip choice).
  void read_orientation() {
    const AVStream* st = input->streams[stream];
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    const AVPacketSideData* side = av_packet_side_data_get(st->codecpar->coded_side_data,
                                                           st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
    const auto* matrix = side && side->size >= 9 * sizeof(int32_t) ? reinterpret_cast<const int32_t*>(side->data) : nullptr;
#else
    size_t size = 0;
    const auto* matrix = reinterpret_cast<const int32_t*>(
        av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size));
    if (size < 9 * sizeof(int32_t)) matrix = nullptr;
#endif
    double theta = 0;
    if (matrix) {
      theta = -std::round(av_display_rotation_get(matrix));
    } else if (const AVDictionaryEntry* tag = av_dict_get(st->metadata, "rotate", nullptr, 0)) {
      theta = std::atof(tag->value);
    }
    if (std::isnan(theta)) theta = 0;
    theta -= 360 * std::floor(theta / 360 + 0.9 / 360);
    if (std::fabs(theta - 90) < 1.0) {
      orientation = matrix && matrix[3] > 0 ? Orientation::transpose : Orientation::clockwise;
      info.rotation = 90;
    } else if (std::fabs(theta - 180) < 1.0) {
      const bool h = !matrix || matrix[0] < 0, v = !matrix || matrix[4] < 0;
      orientation = h && v ? Orientation::half_turn : h ? Orientation::hflip : v ? Orientation::vflip : Orientation::as_stored;
      info.rotation = 180;
    } else if (std::fabs(theta - 270) < 1.0) {
      orientation = matrix && matrix[3] < 0 ? Orientation::antitranspose : Orientation::counterclockwise;
      info.rotation = 270;
    } else if (std::fabs(theta) > 1.0) {
      warn_once(path + ": display rotation of " + std::to_string(theta) +
                          " degrees is not a multiple of 90; frames are used as stored");
    } else if (matrix && matrix[4] < 0) {
      orientation = Orientation::vflip;
    }
  }

  // ---- positioning ------------------------------------------------------------------------
  // Seeks so that decoding starts at or before packet `key`, flushing the decoder. Counts one
  // seek. Falls back to reopening the file when the demuxer cannot land there.
  void seek_to_packet(int64_t key, Numbering numbering, int64_t first_trusted) {
    ++stats.seeks;
    learning.reset();  // a recording is only valid for one pass from the first packet
    avcodec_flush_buffers(decoder.get());
    passed_since_seek.clear();
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
    // Counting and learned passes name a frame by the packet that coded it (frame_numbering.h).
    if (cursor.numbering != Numbering::timestamps) packet->pts = pos >= 0 ? pos : AV_NOPTS_VALUE;
    choose_discard(pos);
    const int rc = avcodec_send_packet(decoder.get(), packet.get());
    // The FFmpeg CLI skips a packet its decoder rejects, which leaves a file of fewer frames
    // than packets and frame numbers that depend on who decodes; such a file is corrupt.
    if (rc < 0) {
      fail(VideoFault::corrupt, "the decoder rejects video packet " + (pos >= 0 ? std::to_string(pos) : std::string("?")) +
                                    " of " + std::to_string(index.num_packets()) + ": " + ff::error_text(rc));
    }
    ++stats.frames_decoded;
  }

  // Lets the decoder drop the packet's frame when only passed (see the file comment). Decoders
  // read skip_frame per packet (frame threads copy it when the packet is submitted).
  void choose_discard(int64_t pos) {
    bool passed = false;
    if (options.passed_frames != PassedFrames::decode && wanted_now && pos >= 0 && !(packet->flags & AV_PKT_FLAG_KEY)) {
      if (cursor.numbering == Numbering::timestamps) {
        const int64_t number = index.frame_at_time(index.packet(pos).time);
        passed = only_passed(number);
        if (passed) passed_since_seek.insert(number);
      } else if (cursor.numbering == Numbering::learned) {
        passed = droppable_by_learned_numbering(pos);
      }
    }
    decoder->skip_frame = passed ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
    const bool deblock = !passed || options.passed_frames != PassedFrames::skip_deblocking;
    decoder->skip_loop_filter = deblock ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }

  // Frames after the last wanted one are left whole: a later read may decode on to them.
  bool only_passed(int64_t number) const {
    return number >= 0 && number < wanted_now->sorted().back() && wanted_now->slot(number) < 0;
  }

  // In files numbered by packet (frame_numbering.h) the packet at `pos` codes one frame. Packed
  // B-frames (DivX 5 / XviD AVIs: a P-frame's packet also carries the first B-frame shown
  // before it, each later packet the next B, an empty placeholder the last) make dropping
  // order-dependent: FFmpeg's MPEG-4 decoder (h263dec.c, 5.1) sets a packet's B-frame aside
  // for the next packet only when it decodes the frame before, and returns early for a dropped
  // one, so dropping a B-frame loses the next. A wanted frame lost so sends the reader back to
  // a decode from the start; a B-frame is therefore dropped only when every B-frame after it,
  // up to the next other frame, is passed too.
  bool droppable_by_learned_numbering(int64_t pos) const {
    if (!only_passed(learned->frame_from_packet(pos))) return false;
    for (int64_t next = pos + 1;; ++next) {
      const int64_t k = learned->frame_from_packet(next);
      if (k < 0 || learned->picture_types[static_cast<size_t>(k)] != 'B') return true;
      if (!only_passed(k)) return false;
    }
  }

  // Reads the next video packet and sends it, or sends the flush signal at end of stream.
  void feed() {
    for (;;) {
      int rc = av_read_frame(input.get(), packet.get());
      if (rc == AVERROR_EOF) {
        cursor.draining = true;
        cursor.next_packet = -1;
        avcodec_send_packet(decoder.get(), nullptr);  // cannot fail but by a repeated flush
        return;
      }
      if (rc < 0) fail(at_end_of_file() ? VideoFault::truncated : VideoFault::corrupt, "cannot read a packet: " + ff::error_text(rc));
      ff::PacketRef unref(packet.get());
      if (packet->stream_index != stream || packet->size == 0) continue;
      int64_t pos = cursor.next_packet;
      if (cursor.numbering != Numbering::counting) pos = index.packet_position(packet->pts, packet->dts);
      send(pos);
      return;
    }
  }

  // Decodes until a frame numbered `until` or later comes out, or the stream ends.
  // Whether decoding has gone far enough for frame `until`. Frames named by their packet may
  // come out of order right after a seek (a decoder still learning the stream's reordering
  // depth), so there the frame itself is awaited, within a bounded distance.
  bool passed(int64_t until, const WantedFrames& wanted) const {
    if (cursor.numbering != Numbering::learned) return cursor.last_frame >= until;
    constexpr int64_t kReorderSlack = 32;
    const int64_t s = wanted.slot(until);
    return (s >= 0 && wanted.has(s)) || cursor.last_frame > until + kReorderSlack;
  }

  void decode_until(int64_t until, WantedFrames& wanted) {
    for (;;) {
      int rc = avcodec_receive_frame(decoder.get(), frame.get());
      if (rc == 0) {
        take_frame(wanted);
        if (passed(until, wanted)) return;
        continue;
      }
      if (rc == AVERROR_EOF) {
        cursor.valid = false;
        finish_learning();
        return;
      }
      if (rc != AVERROR(EAGAIN)) fail(VideoFault::corrupt, "the decoder fails: " + ff::error_text(rc));
      feed();
    }
  }

  void take_frame(WantedFrames& wanted) {
    ++stats.frames_output;
    int64_t number = number_frame();
    if (learning) {
      learning->source_packet.push_back(frame->pts);
      learning->picture_types.push_back(av_get_picture_type_char(frame->pict_type));
    }
    if (sink && number >= cursor.first_trusted) sink(number, to_rgb(frame.get()));
    if (number >= cursor.first_trusted) {
      int64_t slot = wanted.slot(number);
      if (slot >= 0 && !wanted.has(slot)) wanted.set(slot, to_rgb(frame.get()));
    }
    av_frame_unref(frame.get());
  }

  // Names the frame just decoded; in timestamp mode also checks the index's story holds.
  int64_t number_frame() {
    if (cursor.numbering == Numbering::counting) return ++cursor.last_frame;
    const bool by_learned = cursor.numbering == Numbering::learned;
    const int64_t time = by_learned ? frame->pts : frame_time(frame.get());
    const int64_t number = by_learned ? learned->frame_from_packet(time) : index.frame_at_time(time);
    if (number < 0) {
      throw TimestampMismatch{by_learned ? "a decoded frame comes from packet " + std::to_string(time) +
                                               ", which coded no frame in the full decode"
                                         : "a decoded frame has time " + std::to_string(time) + ", which no packet has"};
    }
    if (by_learned && number >= cursor.first_trusted &&
        learned->picture_types[static_cast<size_t>(number)] != av_get_picture_type_char(frame->pict_type)) {
      throw TimestampMismatch{"frame " + std::to_string(number) + " decoded as a different picture type than in the full decode"};
    }
    if (number < cursor.first_trusted) return number;  // open-GOP leading frame: not ours
    if (by_learned) return cursor.last_frame = std::max(cursor.last_frame, number);  // named by its packet
    if (number != cursor.last_frame + 1 && !only_dropped_between(cursor.last_frame, number)) {
      throw TimestampMismatch{"frame " + std::to_string(number) + " came after frame " +
                              std::to_string(cursor.last_frame)};
    }
    return cursor.last_frame = number;
  }

  // Whether every frame strictly between `last` and `number` was sent as droppable.
  bool only_dropped_between(int64_t last, int64_t number) const {
    if (number <= last) return false;
    for (int64_t f = last + 1; f < number; ++f) {
      if (!passed_since_seek.count(f)) return false;
    }
    return true;
  }

  // Output size of a stored picture: options.short_side applied to the displayed picture.
  std::pair<int, int> output_size(const AVFrame* f) const {
    if (options.short_side <= 0) return {f->width, f->height};
    const bool swap = swaps_sides(orientation);
    const int shown_w = swap ? f->height : f->width, shown_h = swap ? f->width : f->height;
    const double k = static_cast<double>(options.short_side) / static_cast<double>(std::min(shown_w, shown_h));
    const int w = std::max(1, static_cast<int>(shown_w * k + 0.5));
    const int h = std::max(1, static_cast<int>(shown_h * k + 0.5));
    return swap ? std::make_pair(h, w) : std::make_pair(w, h);
  }

  cv::Mat to_rgb(const AVFrame* f) {
    bool full_range = f->color_range == AVCOL_RANGE_JPEG;
    AVPixelFormat format = without_deprecated_range(static_cast<AVPixelFormat>(f->format), &full_range);
    const auto [out_w, out_h] = output_size(f);
    sws.reset(sws_getCachedContext(sws.release(), f->width, f->height, format, out_w, out_h, AV_PIX_FMT_RGB24,
                                   SWS_BILINEAR, nullptr, nullptr, nullptr));
    if (!sws) {
      const char* name = av_get_pix_fmt_name(format);
      fail(VideoFault::unsupported, std::string("cannot convert pixel format ") + (name ? name : "?") + " (" +
                                        std::to_string(f->width) + "x" + std::to_string(f->height) + ") to RGB");
    }
    // Honour the stream's colour matrix (BT.709 for HD) as FFmpeg's scale filter does.
    int space = f->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : f->colorspace;
    sws_setColorspaceDetails(sws.get(), sws_getCoefficients(space), full_range ? 1 : 0,
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    cv::Mat rgb = ff::padded_rgb_image(out_w, out_h);
    uint8_t* dst[4] = {rgb.data, nullptr, nullptr, nullptr};
    int dst_stride[4] = {static_cast<int>(rgb.step[0]), 0, 0, 0};
    sws_scale(sws.get(), f->data, f->linesize, 0, f->height, dst, dst_stride);
    return oriented(rgb, orientation);
  }

  // ---- the read strategies ----------------------------------------------------------------
  // Sparse: per wanted frame, decode on if the decoder already stands at or past its keyframe
  // (fewer frames than seeking), else seek to the keyframe. Frames are named by the packet
  // index's timestamps, or by the numbering a full decode of this file recorded.
  void read_sparse(WantedFrames& wanted, Numbering numbering) {
    const bool by_learned = numbering == Numbering::learned;
    struct Request {  // the wanted frames are known to choose_discard for this read only
      const WantedFrames*& now;
      ~Request() { now = nullptr; }
    } request{wanted_now = &wanted};
    for (int64_t target : wanted.sorted()) {
      if (wanted.has(wanted.slot(target))) continue;
      const int64_t key = by_learned ? learned->start_packet(target) : index.start_packet(target);
      if (!can_decode_on_to(target, key, numbering)) {
        const int64_t first_whole = by_learned ? learned->first_whole_frame(key)
                                               : index.first_frame_at_or_after(index.packet(key).time);
        seek_to_packet(key, numbering, std::min(first_whole, target));
      }
      decode_until(target, wanted);
      if (!wanted.has(wanted.slot(target))) {
        throw TimestampMismatch{"frame " + std::to_string(target) + " did not come out after its keyframe"};
      }
    }
  }

  bool can_decode_on_to(int64_t target, int64_t key, Numbering numbering) const {
    return cursor.valid && !cursor.draining && cursor.numbering == numbering && cursor.last_frame < target &&
           cursor.next_packet >= 0 && cursor.next_packet >= key;
  }

  // Counting: decode from the first packet, numbering frames in output order (a full decode's
  // numbering); continues from the current position when it has not passed the first wanted.
  // A pass from the first packet that reaches the end records the file's numbering.
  void read_by_counting(WantedFrames& wanted, int64_t until) {
    const int64_t first = wanted.sorted().front();
    const bool can_decode_on = cursor.valid && !cursor.draining && cursor.numbering == Numbering::counting &&
                               cursor.last_frame < first;
    if (!can_decode_on) start_counting_pass();
    decode_until(until, wanted);
    const int64_t missing = wanted.first_missing();
    if (missing >= 0) {
      fail(VideoFault::corrupt, "frame " + std::to_string(missing) + " of " + std::to_string(info.num_frames) +
                                    " could not be decoded: the decoder yields " + std::to_string(cursor.last_frame + 1) +
                                    " frames from the stream's " + std::to_string(index.num_packets()) + " packets");
    }
  }

  // Seeks to the first packet for counting; records the numbering unless one is known.
  void start_counting_pass() {
    seek_to_packet(0, Numbering::counting, 0);
    learning.reset();
    if (!learned && !key.path.empty()) learning = std::make_unique<LearnedNumbering>();
  }

  // At the end of a counting pass from the first packet: keep what it saw when it can name
  // frames later (each frame from its own packet).
  void finish_learning() {
    if (!learning) return;
    std::unique_ptr<LearnedNumbering> done = std::move(learning);
    if (timestamps_trusted) return;  // nothing to learn: the index names frames already
    if (done->num_frames() != info.num_frames) return;
    std::vector<int64_t> flagged_keyframes;
    for (int64_t pos = 0; pos < index.num_packets(); ++pos) {
      if (index.packet(pos).keyframe) flagged_keyframes.push_back(pos);
    }
    if (!done->index_packets(index.num_packets(), flagged_keyframes)) return;
    learned = std::shared_ptr<const LearnedNumbering>(std::move(done));
    keep_numbering(key, learned, options.numbering_store);
  }

  // A decode from the first packet to the end, as data check and the full-decode baseline use.
  void full_pass(WantedFrames& wanted) {
    start_counting_pass();
    decode_until(std::numeric_limits<int64_t>::max(), wanted);
    if (cursor.last_frame + 1 != info.num_frames) {
      fail(VideoFault::corrupt, "a full decode yields " + std::to_string(cursor.last_frame + 1) + " frames from the stream's " +
                                    std::to_string(index.num_packets()) + " packets");
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

  // Sparse read with the numbering this file allows; on a contradiction, counts from the start.
  std::vector<cv::Mat> read(const std::vector<int64_t>& indices) {
    WantedFrames wanted(indices);
    const Numbering numbering = timestamps_trusted ? Numbering::timestamps : learned ? Numbering::learned : Numbering::counting;
    if (numbering != Numbering::counting) {
      try {
        read_sparse(wanted, numbering);
        if (numbering == Numbering::learned) ++stats.learned_numbering_reads;
        return wanted.in_order(indices);
      } catch (const TimestampMismatch& mismatch) {
        util::log_warn(path + ": frame timestamps disagree with the " +
                       (numbering == Numbering::learned ? "numbering of its full decode" : "packet index") + " (" +
                       mismatch.reason + "); numbering frames by decoding from the start");
        timestamps_trusted = false;
        if (numbering == Numbering::learned) learned.reset();
        ++stats.timestamp_fallbacks;
        cursor.valid = false;
        wanted.clear();
      }
    }
    // The first counting pass runs to the end, once, so the file's later clips can seek.
    ++stats.counting_reads;
    const bool learn = !learned && !key.path.empty();
    read_by_counting(wanted, learn ? std::numeric_limits<int64_t>::max() : wanted.sorted().back());
    return wanted.in_order(indices);
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
  impl_->check_indices(indices);
  if (indices.empty()) return {};
  return impl_->read(indices);
}

std::vector<cv::Mat> VideoReader::read_frames_full_decode(const std::vector<int64_t>& indices) {
  Impl& r = *impl_;
  r.check_indices(indices);
  WantedFrames wanted(indices);
  r.full_pass(wanted);
  return wanted.in_order(indices);
}

void VideoReader::decode_all(const std::function<void(int64_t, const cv::Mat&)>& sink) {
  Impl& r = *impl_;
  struct Sink {  // the sink is only called during this pass, even when it throws
    std::function<void(int64_t, const cv::Mat&)>& now;
    ~Sink() { now = nullptr; }
  } guard{r.sink = sink};
  WantedFrames none(std::vector<int64_t>{});
  r.full_pass(none);
}

void VideoReader::verify() {
  Impl& r = *impl_;
  const int64_t n = r.info.num_frames;
  // The whole stream through the decoder (every packet must decode, every frame come out) ...
  WantedFrames ends({0, n - 1});
  r.full_pass(ends);
  // ... then the loader's own sparse path, seeks included, at the start, middle and end.
  r.read({0, n / 2, n - 1});
}

}  // namespace vifi::data
