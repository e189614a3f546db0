// `vifi serve --weights W (--labels ... | --label-file CSV | --index DIR)`: the model over HTTP
// (Debian's cpp-httplib), for a lab's own videos:
//   POST /predict   a video upload (multipart field "video", or the raw body) -> top-k labels,
//                   and the attention-rollout grid of the top label as a PNG data URL (JSON)
//   GET  /search    ?q=TEXT[&topk=K] over the index (eval/video_index), ranked as `vifi search`
//                   (by cosine, or with --querybank LABELS as `vifi search --querybank` ranks)
//   GET  /health    labels, indexed videos, model identity
//   GET  /          a page to upload a video and search (serve_page.h)
// Safety: binds to loopback unless --host says otherwise (then warns); uploads over
// --max-upload-mb get 413 (chunked ones too); an upload that does not decode as a video gets 415
// with FFmpeg's reason; uploads are streamed (never whole in memory) only into one private
// temporary folder (mkdtemp under $TMPDIR, file names made here, never the client's), each
// removed after use and the folder at exit.
// One model serves all requests, one at a time (a mutex): CLIP's forward already uses the cores.
#include <httplib.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "commands.h"
#include "flag_checks.h"
#include "rollout_view.h"
#include "serve_page.h"
#include "video_inference.h"
#include "vifi/data/video_reader.h"
#include "vifi/eval/video_index.h"
#include "vifi/model/weights.h"
#include "vifi/util/error_message.h"
#include "vifi/util/interrupt.h"
#include "vifi/util/json.h"
#include "vifi/util/logging.h"
#include "vifi/util/parse_number.h"
#include "vifi/viz/image_io.h"

namespace vifi::cli {
namespace {

namespace fs = std::filesystem;

struct ServeOptions {
  std::string weights;
  std::string clip_archive;
  std::string prompts;
  std::string labels;
  std::string label_file;
  std::string index;
  std::string querybank;  // class names: /search ranks by QB-Norm's inverted softmax over them
  std::string host = "127.0.0.1";
  int port = 8080;
  double max_upload_mb = 64.0;
  int64_t topk = 5;
  int64_t frames = 8;
  int panel = 112;  // pixels per rollout panel
};

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

void reply_json(httplib::Response& res, int status, const util::Json& body) {
  res.status = status;
  res.set_content(util::json_text(body), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& reason) {
  reply_json(res, status, util::Json{{"error", reason}});
}

// The private folder uploads go to; removed with everything in it when the server ends.
class UploadFolder {
 public:
  UploadFolder() {
    auto pattern = (fs::temp_directory_path() / "vifi-serve-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error(pattern + ": cannot create the upload folder");
    path_ = pattern;
  }
  ~UploadFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  UploadFolder(const UploadFolder&) = delete;
  UploadFolder& operator=(const UploadFolder&) = delete;
  // A new file name inside the folder, never derived from the client's.
  std::string next() { return (fs::path(path_) / ("upload-" + std::to_string(++count_))).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::atomic<uint64_t> count_{0};
};

uint64_t max_upload_bytes(double max_upload_mb) { return static_cast<uint64_t>(max_upload_mb * 1024 * 1024); }

std::string upload_limit_message(double max_upload_mb) {
  return "upload larger than the server's limit of " + util::json_text(util::json_number(max_upload_mb)) + " MB";
}

constexpr const char* kNoSuchEndpoint = "no such endpoint: use GET /, GET /health, POST /predict, GET /search?q=";

// What a refused body elsewhere is read and dropped up to (and to twice this when it runs over),
// so that its 413 reaches the client instead of a reset (see run_serve).
constexpr uint64_t kIgnoredBodyBytes = 64 * 1024;

// Whether the request says a body follows (a length above 0, or chunked).
bool has_body(const httplib::Request& req) {
  const auto length = req.get_header_value("Content-Length");
  return req.has_header("Transfer-Encoding") || !(length.empty() || length == "0");
}

// The methods whose bodies cpp-httplib hands to a ContentReader handler.
bool takes_content_reader(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

std::string no_body_message(const httplib::Request& req) {
  return req.method + " " + req.path + " takes no request body (only POST /predict does: the video)";
}

// An upload as it was streamed to disk: the first multipart field named "video", or the whole raw
// body whatever its Content-Type (`curl --data-binary @clip.mp4` labels it a URL-encoded form).
struct Upload {
  bool whole = false;         // the body was read to its end
  bool has_video = false;     // a raw body, or a multipart body with a "video" field
  bool write_failed = false;  // the file could not be written (disk full)
  bool too_large = false;     // over the limit: nothing kept past it
  uint64_t bytes = 0;         // bytes of the video written
};

// Streams the upload into `file` (read and dropped when `file` is empty), never whole in memory,
// and keeps nothing past `max_bytes` of body. cpp-httplib enforces its payload limit only on
// bodies that state their length (it then leaves res.status 413), not on chunked ones, hence the
// count here. Past the limit the body is still read and dropped up to twice the limit, so a
// client that sends a little too much gets its 413 instead of a connection closed on its
// writes; beyond that reading stops.
// Reading through a ContentReader also avoids cpp-httplib's own 8 KB limit on bodies labelled
// application/x-www-form-urlencoded, which answered raw uploads with a false 413.
Upload receive_upload(const httplib::Request& req, const httplib::ContentReader& read, const std::string& file,
                      uint64_t max_bytes) {
  Upload upload;
  std::ofstream out;
  if (!file.empty()) out.open(file, std::ios::binary);
  bool in_video = false;
  uint64_t received = 0;
  const auto keep = [&](const char* data, size_t n) {
    received += n;
    if (received > max_bytes) {
      upload.too_large = true;
      return received - max_bytes <= max_bytes;
    }
    if (!in_video || file.empty()) return true;
    if (!upload.write_failed) {
      out.write(data, static_cast<std::streamsize>(n));
      upload.write_failed = !out;
    }
    upload.bytes += n;
    return true;  // on after a failed write too: the rest of the body must still be read
  };
  if (req.is_multipart_form_data()) {
    upload.whole = read(
        [&](const httplib::MultipartFormData& part) {
          in_video = part.name == "video" && !upload.has_video;
          upload.has_video = upload.has_video || in_video;
          return true;
        },
        keep);
  } else {
    in_video = upload.has_video = true;
    upload.whole = read(keep);
  }
  if (!file.empty() && !upload.write_failed) upload.write_failed = !out.flush();
  return upload;
}

class Service {
 public:
  Service(const ServeOptions& o, model::ViFiCLIP model, std::vector<std::string> labels, std::optional<eval::VideoIndex> index)
      : o_(o), model_(std::move(model)), resolution_(model_->clip()->config().image_resolution), labels_(std::move(labels)),
        index_(std::move(index)) {
    if (!o_.querybank.empty()) querybank_ = load_querybank(model_, o_.querybank);
    if (!labels_.empty()) {
      model_->set_class_names(labels_);
      label_text_ = model_->text_features().clone();  // [C,D]
    }
  }

  void predict(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    const auto file = uploads_.next();
    struct Remove {
      std::string path;
      ~Remove() {
        std::error_code ignored;
        fs::remove(path, ignored);
      }
    } remove{file};
    // The whole body is read even when it will be refused: what is left unread would be parsed
    // as the connection's next request.
    const auto upload = receive_upload(req, read, labels_.empty() ? std::string() : file, max_upload_bytes(o_.max_upload_mb));
    if (upload.too_large && !upload.whole) res.set_header("Connection", "close");  // the rest was never read
    if (res.status == 413 || upload.too_large) return reply_error(res, 413, upload_limit_message(o_.max_upload_mb));
    if (labels_.empty()) return reply_error(res, 409, "this server has no labels: start it with --labels or --label-file");
    if (upload.write_failed) return reply_error(res, 507, "cannot store the upload on the server (disk full?)");
    if (!upload.whole) return reply_error(res, 400, "the upload ended before its end (connection lost, or a malformed multipart body)");
    if (!upload.has_video) return reply_error(res, 400, "expected a multipart field named \"video\" holding the video file");
    if (upload.bytes == 0) return reply_error(res, 400, "empty upload: send a video file");
    const auto start = std::chrono::steady_clock::now();
    c10::InferenceMode inference;
    torch::Tensor clip;
    try {  // decoded outside the model's lock: other requests wait only for the model, not for this upload
      clip = read_video_clip(file, o_.frames, resolution_);
    } catch (const std::exception& e) {
      // The reason without the server's own path of the upload.
      std::string reason = util::error_message(e);
      for (size_t at; (at = reason.find(file)) != std::string::npos;) reason.replace(at, file.size(), "upload");
      return reply_error(res, 415, "not a readable video: " + reason);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const auto probs = torch::softmax(model_->logits(clip.unsqueeze(0), label_text_), -1)[0];
    const auto k = std::min<int64_t>(o_.topk, probs.size(0));
    const auto [values, indices] = probs.topk(k);
    auto top = util::Json::array();
    for (int64_t i = 0; i < k; ++i)
      top.push_back(util::Json{{"label", labels_[static_cast<size_t>(indices[i].item<int64_t>())]},
                               {"probability", util::json_number(values[i].item<double>())}});
    const auto best = top[0]["label"].get<std::string>();
    util::Json out{{"top", std::move(top)}, {"frames", clip.size(0)}};
    if (req.get_param_value("rollout") != "0") {
      model_->set_class_names({best});
      const auto grid = rollout_grid({rollout_view(model_, clip, "model")}, o_.panel);
      out["rollout"] = "data:image/png;base64," + base64(viz::encode_png(grid, "rollout grid"));
      out["rollout_label"] = best;
    }
    out["seconds"] = util::json_number(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    reply_json(res, 200, out);
  }

  void search(const httplib::Request& req, httplib::Response& res) {
    if (!index_) return reply_error(res, 409, "this server has no index: start it with --index DIR (made by vifi index)");
    const auto query = req.get_param_value("q");
    if (query.find_first_not_of(" \t") == std::string::npos) return reply_error(res, 400, "expected ?q=words to search for");
    int64_t topk = 10;
    if (req.has_param("topk")) {
      // The whole value: "5x" is refused, not read as 5.
      const auto text = req.get_param_value("topk");
      const auto value = util::parse_int64(text);
      if (!value || *value < 1 || *value > 1000) return reply_error(res, 400, "topk '" + text + "': expected 1..1000");
      topk = *value;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    c10::InferenceMode inference;
    torch::Tensor q;
    try {
      q = query_embedding(model_, query);
    } catch (const std::exception& e) {
      return reply_error(res, 400, util::error_message(e));
    }
    const auto prompt = model_->prompts().front();
    auto results = util::Json::array();
    const auto hits = querybank_ ? rank_by_querybank(index_->features, query, q, *querybank_, topk)
                                 : eval::rank_by_cosine(index_->features, q, topk);
    for (size_t i = 0; i < hits.size(); ++i)
      results.push_back(util::Json{{"rank", i + 1},
                                   {"video", index_->videos[static_cast<size_t>(hits[i].row)]},
                                   {"score", util::json_number(hits[i].score)},
                                   {"cosine", util::json_number(hits[i].cosine)}});
    reply_json(res, 200, util::Json{{"query", query}, {"prompt", prompt}, {"ranking", ranking()}, {"results", std::move(results)}});
  }

  util::Json health() const {
    return util::Json{{"ok", true},
                      {"labels", labels_},
                      {"videos", index_ ? index_->videos.size() : 0},
                      {"ranking", ranking()},
                      {"max_upload_mb", o_.max_upload_mb},
                      {"topk", o_.topk}};
  }

  const UploadFolder& uploads() const { return uploads_; }

 private:
  std::string ranking() const { return querybank_ ? "querybank" : "cosine"; }

  const ServeOptions& o_;
  model::ViFiCLIP model_;  // guarded by mutex_ (set_class_names changes it), as is everything it computes
  int64_t resolution_;     // the model's input size, read once: decoding needs no lock
  std::vector<std::string> labels_;
  std::optional<eval::VideoIndex> index_;
  torch::Tensor label_text_;
  std::optional<QueryBank> querybank_;
  UploadFolder uploads_;
  std::mutex mutex_;
};

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "::1" || host == "localhost"; }

void run_serve(const ServeOptions& o) {
  if (o.labels.empty() && o.label_file.empty() && o.index.empty())
    throw std::runtime_error("serve: give --labels, --label-file and/or --index: there is nothing to predict or search");
  if (!o.querybank.empty() && o.index.empty()) throw std::runtime_error("serve: --querybank ranks /search: give --index too");
  std::vector<std::string> labels;
  if (!o.labels.empty() || !o.label_file.empty()) labels = labels_from(o.labels, o.label_file);
  std::optional<eval::VideoIndex> index;
  if (!o.index.empty()) index = eval::load_video_index(o.index);
  const auto weights = !o.weights.empty() ? o.weights : index ? index->weights : "";
  if (weights.empty()) throw std::runtime_error("serve: --weights is required (or --index, whose model is used)");
  const auto clip_archive = !o.clip_archive.empty() ? o.clip_archive : index ? index->clip_archive : "";
  const auto prompts = !o.prompts.empty() ? o.prompts : index ? index->prompts : "";
  auto model = model::load_vificlip(weights, clip_archive, labels.empty() ? std::vector<std::string>{"video"} : labels, "", prompts);
  if (index) {
    const auto identity = eval::index_identity(*model, index->identity.frames);
    if (!(identity == index->identity))
      throw std::runtime_error(o.index + " was indexed with another model (checksum " + index->identity.checksum + ", " +
                               weights + " has " + identity.checksum + "); serve it with the weights it was made with");
  }
  Service service(o, std::move(model), labels, std::move(index));

  httplib::Server server;
  server.set_payload_max_length(max_upload_bytes(o.max_upload_mb));
  // Only POST /predict reads a body, streamed and counted (receive_upload). Anywhere else
  // cpp-httplib would read a chunked body whole into memory with no limit, so one is refused
  // with 413. A POST/PUT/PATCH/DELETE body is first read and dropped up to kIgnoredBodyBytes (twice
  // that when it runs over): closing on unread bytes makes the kernel reset the connection, and the
  // reset can reach the client before the answer. Other methods' bodies cpp-httplib never reads:
  // those are refused before routing and the connection closed on them.
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (takes_content_reader(req.method) || !has_body(req)) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("Connection", "close");
    reply_error(res, 413, no_body_message(req));
    return httplib::Server::HandlerResponse::Handled;
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(kServePage, "text/html; charset=utf-8"); });
  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) { reply_json(res, 200, service.health()); });
  server.Post("/predict", [&](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    service.predict(req, res, read);
  });
  server.Get("/search", [&](const httplib::Request& req, httplib::Response& res) { service.search(req, res); });
  const auto refuse_body = [](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    if (!has_body(req)) return reply_error(res, 404, kNoSuchEndpoint);
    const auto dropped = receive_upload(req, read, std::string(), kIgnoredBodyBytes);
    if (!dropped.whole) res.set_header("Connection", "close");  // the rest was never read
    reply_error(res, 413, no_body_message(req));
  };
  // Registered after POST /predict, which cpp-httplib therefore matches first.
  server.Post(".*", refuse_body);
  server.Put(".*", refuse_body);
  server.Patch(".*", refuse_body);
  server.Delete(".*", refuse_body);
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      reply_error(res, 500, util::error_message(e));
    } catch (...) {
      reply_error(res, 500, "unknown error");
    }
  });
  server.set_error_handler([&](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      reply_error(res, 413, upload_limit_message(o.max_upload_mb));
    else if (res.status == 404)
      reply_error(res, 404, kNoSuchEndpoint);
  });
  if (!is_loopback(o.host))
    util::log_warn("serve: listening on " + o.host + ", not loopback: anyone who reaches this port can upload videos");
  const int port = o.port == 0 ? server.bind_to_any_port(o.host) : (server.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) throw std::runtime_error("serve: cannot listen on " + o.host + ":" + std::to_string(o.port) + " (in use, or not an address of this machine)");
  util::install_interrupt_handler();
  // A client that hangs up before reading its answer must not end the server: without this its
  // write raises SIGPIPE, whose default action kills the process (cpp-httplib 0.11 sends without
  // MSG_NOSIGNAL); ignored, the write fails with EPIPE and only that connection ends.
  std::signal(SIGPIPE, SIG_IGN);
  std::atomic<bool> done{false};
  std::thread watcher([&] {  // Ctrl-C / SIGTERM stop the server; the upload folder is removed on the way out
    while (!done && !util::interrupt_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.stop();
  });
  std::cout << "vifi serve: listening on http://" << o.host << ":" << port << "/ (uploads in " << service.uploads().path()
            << ")" << std::endl;
  const bool ok = server.listen_after_bind();
  done = true;
  watcher.join();
  if (!ok && !util::interrupt_requested()) throw std::runtime_error("serve: the server stopped unexpectedly");
  util::log_info("serve: stopped");
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "HTTP server: POST /predict a video, GET /search?q= an index, GET / a page");
  cmd->add_option("--weights", o->weights, "weights file (default with --index: the index's)");
  cmd->add_option("--clip", o->clip_archive, "OpenAI CLIP archive lending token_embedding.weight to a checkpoint without it");
  cmd->add_option("--prompts", o->prompts, "prompt checkpoint (vifi prompt's prompts.pth) learned on --weights");
  cmd->add_option("--labels", o->labels, "class names for /predict, comma-separated");
  cmd->add_option("--label-file", o->label_file, "class names for /predict: label CSV (id,name) or one name per line");
  cmd->add_option("--index", o->index, "index folder (vifi index) for /search");
  cmd->add_option("--querybank", o->querybank,
                  "class names the model was trained on (label CSV or one per line): /search ranks as vifi search "
                  "--querybank does (QB-Norm's inverted softmax) instead of by cosine");
  cmd->add_option("--host", o->host, "address to listen on (default loopback; anything else is reachable by others)");
  cmd->add_option("--port", o->port, "port (0: any free port, printed at start)")->check(CLI::Range(0, 65535));
  cmd->add_option("--max-upload-mb", o->max_upload_mb, "largest accepted upload")->check(finite_in(0.001, 4096));
  cmd->add_option("--topk", o->topk, "labels returned by /predict")->check(CLI::PositiveNumber);
  cmd->add_option("--frames", o->frames, "frames sampled per uploaded video")->check(CLI::Range(1, 64));
  cmd->callback([o] { run_serve(*o); });
}

}  // namespace vifi::cli
