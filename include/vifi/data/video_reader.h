// Sparse video decoding with FFmpeg (libavformat/libavcodec/libswscale).
// Owns: opening a file, its frame count/fps/size, and decoding only the frames a sampler asked
// for. Frame i is the i-th frame in presentation order, exactly as a full decode counts it
// (B-frames and variable frame rate included). All FFmpeg handles are RAII.
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "vifi/config/config.h"

namespace vifi::data {

// What is wrong with a file, one name per kind of fault, the same wherever it is found (data
// check, training, evaluation, predict).
enum class VideoFault {
  unreadable,       // missing, a directory, no permission
  empty,            // 0 bytes
  not_a_video,      // no container FFmpeg recognises
  no_video_stream,  // a container without a video track (audio only, ...)
  no_decoder,       // a codec this FFmpeg build cannot decode
  truncated,        // the file ends before the data its header describes
  corrupt,          // damaged data inside the file: packets the demuxer or decoder rejects
  unsupported,      // decodable, but in a form vifi cannot use (pixel format, ...)
};
const char* fault_name(VideoFault fault);  // "truncated", "corrupt", ...

// Thrown for a file that cannot be used as a video; what() is "path: fault: detail", e.g.
// "a.mp4: truncated: the last video packet is incomplete".
class VideoError : public std::runtime_error {
 public:
  VideoError(VideoFault fault, const std::string& path, const std::string& detail);
  VideoFault fault() const { return fault_; }

 private:
  VideoFault fault_;
};

struct VideoInfo {
  int64_t num_frames = 0;  // frames a full decode yields
  double fps = 0.0;        // average frame rate
  int width = 0;
  int height = 0;
  std::string codec;       // FFmpeg codec name, e.g. "h264"
  // Display rotation the file asks for (its display matrix / rotate tag), clockwise degrees:
  // 0, 90, 180 or 270. Frames come out rotated, as the FFmpeg CLI shows them; width and height
  // above are of the rotated picture.
  int rotation = 0;
  // Frames the container header declares, when it says; a header that disagrees with the
  // stream is logged once per file, and the stream wins.
  int64_t declared_frames = 0;
};

struct DecodeStats {
  // Coded frames handed to the decoder: the decoding work done. With B-frames this exceeds the
  // frames that come out, since a frame is decoded before the ones displayed ahead of it.
  int64_t frames_decoded = 0;
  int64_t frames_output = 0;  // frames the decoder produced (wanted or not)
  int64_t seeks = 0;
  // Times decoded timestamps contradicted the packet index, so the reader fell back to
  // numbering frames by decoding from the start (correct, but no longer sparse). Logged too.
  int64_t timestamp_fallbacks = 0;
  // Reads served by a frame numbering learned from an earlier full decode of the same file
  // (see FrameNumberingCache): sparse again although the timestamps disagree.
  int64_t learned_numbering_reads = 0;
  // Reads that numbered frames by counting the decoder's output from the first packet, as a
  // full decode does: each timestamp fallback, and the first clip of a file whose index times
  // are known to be wrong (packed B-frames). Such a read decodes the whole file once and lets
  // the later clips seek with the numbering it recorded.
  int64_t counting_reads = 0;
  // Readers whose numbering came from the store on disk (VideoReaderOptions::numbering_store),
  // learned by another process or an earlier run: no full decode here.
  int64_t stored_numberings = 0;
};

struct VideoReaderOptions {
  // Decoder threads per video (FFmpeg frame + slice threads). 1 by default: the loader runs one
  // reader per worker thread and parallelises across videos, which scales better than threads
  // inside one small decode; it gives a worker more only when cores would otherwise idle.
  int decoder_threads = 1;
  // config.h: DATA.PASSED_FRAMES (training reads) / TEST.PASSED_FRAMES (evaluation reads). A
  // reader made without a config is exact.
  PassedFrames passed_frames = PassedFrames::skip_unreferenced;
  // > 0: frames come out with this short side (the displayed picture's), scaled bilinearly in
  // the YUV->RGB conversion instead of converted at full size and resized later; the long side
  // is rounded as transforms' resize_short_side does. 0: the stored size.
  int short_side = 0;
  // Folder where frame numberings learned by a full decode are kept for other processes and
  // later runs (DATA.NUMBERING_CACHE, resolved by numbering_store_dir); empty: this process's
  // memory only. Only files whose timestamps cannot number their frames are learned.
  std::string numbering_store;
};

// DATA.NUMBERING_CACHE -> VideoReaderOptions::numbering_store: "none" -> "" (memory only); "" ->
// the user's cache, $XDG_CACHE_HOME/vifi/frame-numbering or ~/.cache/vifi/frame-numbering ("" when
// neither variable is set); any other value is the folder itself.
std::string numbering_store_dir(const std::string& configured);

class VideoReader {
 public:
  // Opens the file and indexes its packets (demuxing only, no decoding). Throws VideoError.
  explicit VideoReader(const std::string& path, const VideoReaderOptions& options = {});
  ~VideoReader();
  VideoReader(VideoReader&&) noexcept;
  VideoReader& operator=(VideoReader&&) noexcept;

  const VideoInfo& info() const;
  const std::string& path() const;

  // RGB uint8 frames (CV_8UC3, RGB order) for `indices` in the order given; a repeated index
  // shares one image (treat the frames as read-only). Rows may be padded (not continuous). Decodes as little as possible: seeks to the keyframe before
  // each run of wanted frames unless decoding on from where the decoder stands is shorter.
  // An index outside [0, num_frames) throws std::out_of_range (a caller bug, not bad data);
  // a frame the file cannot deliver (truncated, corrupt) throws VideoError.
  std::vector<cv::Mat> read_frames(const std::vector<int64_t>& indices);
  // Baseline for benchmarks and the ground truth for tests: decodes every frame from the start,
  // numbering them in output order, and keeps those in `indices`.
  std::vector<cv::Mat> read_frames_full_decode(const std::vector<int64_t>& indices);

  // Every frame in order, from a decode of the whole file (what `vifi data prepare` re-encodes):
  // `sink(i, rgb)` for i = 0 .. num_frames-1, the image valid during the call only. Throws
  // VideoError as a full decode does, and whatever `sink` throws.
  void decode_all(const std::function<void(int64_t index, const cv::Mat& rgb)>& sink);

  // `vifi data check --decode`: decodes the whole file through the same path as the reads above
  // and throws the VideoError any read of it could meet (corrupt packets, a decoder that yields
  // fewer frames than the stream holds, an unconvertible pixel format). Learns the file's frame
  // numbering on the way when its timestamps cannot be trusted.
  void verify();

  // Cumulative over this reader's lifetime.
  const DecodeStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vifi::data
