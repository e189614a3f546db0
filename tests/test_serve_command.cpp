// `vifi serve` over loopback with a real HTTP client (cpp-httplib's): /predict answers what
// `vifi predict` answers for the same video, /search what `vifi search` answers; non-videos get
// 415, oversized uploads 413, bad queries 400; uploads never leave one private temporary folder,
// which is gone when the server stops on SIGTERM.
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/demo_model.h"
#include "support/json_output.h"
#include "support/test_paths.h"

namespace vifi {
namespace {

namespace fs = std::filesystem;

// A `vifi serve` child process with its own TMPDIR; the port is read from its first line.
class ServerProcess {
 public:
  ServerProcess(const std::string& args, const fs::path& tmpdir) : tmpdir_(tmpdir) {
    // The refusal tests send to a server that may stop reading: a failed write must fail the
    // request, not kill the test binary (cpp-httplib's client sends without MSG_NOSIGNAL).
    signal(SIGPIPE, SIG_IGN);
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    log_ = (tmpdir.parent_path() / "serve.log").string();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      setenv("TMPDIR", tmpdir.c_str(), 1);
      const auto cmd = "exec " + std::string(VIFI_BINARY) + " serve --port 0 " + args + " 2>" + log_;
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
    std::string line;
    pollfd fd{out_, POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&fd, 1, 120000) > 0) {
      char c[256];
      const auto n = ::read(out_, c, sizeof c);
      if (n <= 0) break;
      line.append(c, static_cast<size_t>(n));
    }
    first_line_ = line;
    const auto at = line.find("http://127.0.0.1:");
    if (at != std::string::npos) port_ = std::stoi(line.substr(at + 17));
  }
  ~ServerProcess() {
    if (pid_ > 0) stop();
    close(out_);
  }
  // SIGTERM (as a service manager stops it); returns the exit code.
  int stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  int port() const { return port_; }
  const std::string& first_line() const { return first_line_; }
  std::string log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  fs::path tmpdir_;
  std::string log_;
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
  std::string first_line_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

using test::json_line;

// Files anywhere under `dir`, folders not counted.
size_t files_under(const fs::path& dir) {
  size_t n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) ++n;
  return n;
}

// `vifi index` of the demo's validation videos into dir/index; returns that folder.
std::string index_demo_validation_videos(const test::DemoModel& demo, const fs::path& dir) {
  const auto index = (dir / "index").string();
  std::string log;
  EXPECT_EQ(test::run_vifi("index --videos-from " + demo.val_list() + " --weights " + demo.weights() + " --out " + index, &log), 0)
      << log;
  return index;
}

TEST(ServeCommand, PredictAndSearchOverLoopbackAsTheCommandsAnswer) {
  const auto& demo = test::demo_model();
  const auto dir = test::scratch_dir();
  std::string log;
  const auto index = index_demo_validation_videos(demo, dir);
  const auto tmp = dir / "tmp";
  fs::create_directories(tmp);
  ServerProcess server("--weights " + demo.weights() + " --label-file " + demo.labels() + " --index " + index +
                           " --max-upload-mb 1 --topk 5",
                       tmp);
  ASSERT_GT(server.port(), 0) << server.first_line() << server.log();
  EXPECT_NE(server.first_line().find("listening on http://127.0.0.1:"), std::string::npos);
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(120, 0);

  // The page and the health check.
  auto page = client.Get("/");
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<form id=\"predict-form\">"), std::string::npos);
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(nlohmann::json::parse(health->body)["videos"], 40);

  // /predict == `vifi predict --json` for the same video.
  const auto video = demo.val_videos()[17].first;
  ASSERT_EQ(test::run_vifi("predict " + video + " --weights " + demo.weights() + " --label-file " + demo.labels() +
                               " --frames 8 --topk 5 --json",
                           &log),
            0)
      << log;
  const auto expected = json_line(log, "{\"videos\"")["videos"][0]["top"];
  httplib::MultipartFormDataItems upload{{"video", read_file(video), "clip.avi", "video/x-msvideo"}};
  auto predicted = client.Post("/predict", upload);
  ASSERT_TRUE(predicted);
  ASSERT_EQ(predicted->status, 200) << predicted->body;
  const auto body = nlohmann::json::parse(predicted->body);
  ASSERT_EQ(body["top"].size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(body["top"][i]["label"], expected[i]["label"]) << i;
    EXPECT_NEAR(body["top"][i]["probability"].get<double>(), expected[i]["probability"].get<double>(), 1e-5) << i;
  }
  EXPECT_EQ(body["frames"], 8);
  EXPECT_EQ(body["rollout"].get<std::string>().rfind("data:image/png;base64,iVBORw0KGgo", 0), 0u);  // a PNG's signature
  EXPECT_EQ(body["rollout_label"], expected[0]["label"]);
  // The raw body works too, and ?rollout=0 leaves the image out.
  auto raw = client.Post("/predict?rollout=0", read_file(video), "application/octet-stream");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 200);
  EXPECT_FALSE(nlohmann::json::parse(raw->body).contains("rollout"));
  const auto raw_top = nlohmann::json::parse(raw->body)["top"];
  const auto same_top = [&](const httplib::Result& other, const std::string& what) {
    ASSERT_TRUE(other) << what;
    ASSERT_EQ(other->status, 200) << what << ": " << other->body;
    const auto top = nlohmann::json::parse(other->body)["top"];
    ASSERT_EQ(top.size(), raw_top.size()) << what;
    for (size_t i = 0; i < top.size(); ++i) {
      EXPECT_EQ(top[i]["label"], raw_top[i]["label"]) << what << " " << i;
      EXPECT_NEAR(top[i]["probability"].get<double>(), raw_top[i]["probability"].get<double>(), 1e-6) << what << " " << i;
    }
  };
  // Whatever the raw body's Content-Type: `curl --data-binary @clip.avi` labels it a URL-encoded
  // form, whose bodies cpp-httplib's own reading refuses above 8 KB (a false 413 before).
  ASSERT_GT(read_file(video).size(), 8192u);
  for (const char* type : {"application/x-www-form-urlencoded", "video/x-msvideo", ""})
    same_top(client.Post("/predict?rollout=0", read_file(video), type), std::string("Content-Type '") + type + "'");
  // A multipart body: its first field named "video", wherever it is.
  httplib::MultipartFormDataItems fields{{"note", "hello", "", ""},
                                         {"video", read_file(video), "clip.avi", "video/x-msvideo"},
                                         {"video", "a second one", "b.avi", "video/x-msvideo"}};
  same_top(client.Post("/predict?rollout=0", fields), "multipart with other fields");

  // /search == `vifi search --json`.
  ASSERT_EQ(test::run_vifi("search " + index + " 'moving down green circle' --topk 6 --json", &log), 0) << log;
  const auto want = json_line(log, "{\"query\"");
  auto searched = client.Get("/search?q=moving%20down%20green%20circle&topk=6");
  ASSERT_TRUE(searched);
  ASSERT_EQ(searched->status, 200) << searched->body;
  const auto got = nlohmann::json::parse(searched->body);
  EXPECT_EQ(got["ranking"], "cosine");
  ASSERT_EQ(got["results"].size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(got["results"][i]["video"], want["results"][i]["video"]);
    EXPECT_NEAR(got["results"][i]["score"].get<double>(), want["results"][i]["score"].get<double>(), 1e-6);
  }

  // Refusals, each with a reason.
  httplib::MultipartFormDataItems text{{"video", "hello, this is text", "notes.mp4", "video/mp4"}};
  auto not_video = client.Post("/predict", text);
  ASSERT_TRUE(not_video);
  EXPECT_EQ(not_video->status, 415);
  EXPECT_NE(nlohmann::json::parse(not_video->body)["error"].get<std::string>().find("not a readable video"), std::string::npos);
  EXPECT_EQ(not_video->body.find(tmp.string()), std::string::npos) << "the server's paths stay private: " << not_video->body;
  auto too_big = client.Post("/predict", std::string(1536 * 1024, 'x'), "application/octet-stream");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_NE(too_big->body.find("larger than the server's limit of 1"), std::string::npos) << too_big->body;
  httplib::MultipartFormDataItems big_field{{"video", std::string(1536 * 1024, 'x'), "big.avi", "video/x-msvideo"}};
  auto too_big_field = client.Post("/predict", big_field);
  ASSERT_TRUE(too_big_field);
  EXPECT_EQ(too_big_field->status, 413);
  EXPECT_NE(too_big_field->body.find("larger than the server's limit of 1"), std::string::npos) << too_big_field->body;
  // A chunked body states no length, so cpp-httplib's own limit never sees it: counted as read
  // (and, up to twice the limit, read to its end so the client gets the answer).
  size_t sent = 0;
  auto chunked = client.Post(
      "/predict",
      [&](size_t, httplib::DataSink& sink) {
        if (sent >= 1536 * 1024) {
          sink.done();
          return true;
        }
        const std::string block(64 * 1024, 'x');
        sent += block.size();
        return sink.write(block.data(), block.size());
      },
      "application/octet-stream");
  ASSERT_TRUE(chunked) << httplib::to_string(chunked.error());
  EXPECT_EQ(chunked->status, 413);
  EXPECT_NE(chunked->body.find("larger than the server's limit of 1"), std::string::npos) << chunked->body;
  // No other endpoint takes a body: refused before it is read (a chunked one was read whole
  // into memory, with no limit), whatever its length.
  auto body_to_search = client.Post("/search?q=dog", "some text", "text/plain");
  ASSERT_TRUE(body_to_search);
  EXPECT_EQ(body_to_search->status, 413);
  EXPECT_NE(body_to_search->body.find("POST /search takes no request body"), std::string::npos) << body_to_search->body;
  // A chunked body elsewhere takes the same refusal, after the server has read and dropped it:
  // closed on unread bytes, the connection's reset could reach the client before the answer.
  const auto chunked_body = [](size_t bytes) {
    return [bytes, sent = size_t{0}](size_t, httplib::DataSink& sink) mutable {
      if (sent >= bytes) {
        sink.done();
        return true;
      }
      const std::string block(16 * 1024, 'y');
      sent += block.size();
      return sink.write(block.data(), block.size());
    };
  };
  const std::pair<std::string, httplib::Result> elsewhere[] = {
      {"POST", client.Post("/elsewhere", chunked_body(96 * 1024), "text/plain")},
      {"PUT", client.Put("/search", chunked_body(96 * 1024), "text/plain")},
      {"PATCH", client.Patch("/elsewhere", chunked_body(16 * 1024), "text/plain")},
      {"DELETE", client.Delete("/health", std::string(20000, 'z'), "text/plain")},
  };
  for (const auto& [method, answer] : elsewhere) {
    ASSERT_TRUE(answer) << method << ": " << httplib::to_string(answer.error());
    EXPECT_EQ(answer->status, 413) << method;
    EXPECT_NE(answer->body.find(method + " /"), std::string::npos) << answer->body;
    EXPECT_NE(answer->body.find("takes no request body"), std::string::npos) << answer->body;
  }
  auto bodiless_post = client.Post("/nowhere", "", "text/plain");
  ASSERT_TRUE(bodiless_post);
  EXPECT_EQ(bodiless_post->status, 404);
  EXPECT_NE(bodiless_post->body.find("no such endpoint"), std::string::npos) << bodiless_post->body;
  // The connection still serves requests after refusals.
  same_top(client.Post("/predict?rollout=0", read_file(video), "application/octet-stream"), "after the refusals");
  httplib::MultipartFormDataItems wrong_field{{"file", read_file(video), "clip.avi", "video/x-msvideo"}};
  auto no_field = client.Post("/predict", wrong_field);
  ASSERT_TRUE(no_field);
  EXPECT_EQ(no_field->status, 400);
  auto empty_query = client.Get("/search?q=%20");
  ASSERT_TRUE(empty_query);
  EXPECT_EQ(empty_query->status, 400);
  for (const char* topk : {"abc", "5x", "0", "1001", "-3", "99999999999999999999"}) {
    auto bad_topk = client.Get(std::string("/search?q=dog&topk=") + topk);
    ASSERT_TRUE(bad_topk);
    EXPECT_EQ(bad_topk->status, 400) << topk;
    EXPECT_NE(bad_topk->body.find(std::string("topk '") + topk + "': expected 1..1000"), std::string::npos) << bad_topk->body;
  }
  auto nowhere = client.Get("/etc/passwd");
  ASSERT_TRUE(nowhere);
  EXPECT_EQ(nowhere->status, 404);

  // Uploads lived only in the server's private folder, and none is left behind.
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(tmp)) folders.push_back(entry.path());
  ASSERT_EQ(folders.size(), 1u);
  EXPECT_EQ(folders[0].filename().string().rfind("vifi-serve-", 0), 0u);
  EXPECT_EQ(files_under(tmp), 0u);
  EXPECT_EQ(server.stop(), 0) << server.log();
  EXPECT_TRUE(fs::is_empty(tmp)) << "the upload folder is removed at exit";
}

// --querybank: /search ranks as `vifi search --querybank` does, scores and order, and says so.
TEST(ServeCommand, QuerybankSearchAnswersAsTheCommandDoes) {
  const auto& demo = test::demo_model();
  const auto dir = test::scratch_dir();
  std::string log;
  const auto index = index_demo_validation_videos(demo, dir);
  EXPECT_NE(test::run_vifi("serve --weights " + demo.weights() + " --labels a,b --querybank " + demo.labels(), &log), 0);
  EXPECT_NE(log.find("--querybank ranks /search: give --index too"), std::string::npos) << log;

  fs::create_directories(dir / "tmp");
  ServerProcess server("--index " + index + " --querybank " + demo.labels(), dir / "tmp");
  ASSERT_GT(server.port(), 0) << server.first_line() << server.log();
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(120, 0);
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(nlohmann::json::parse(health->body)["ranking"], "querybank");
  for (const std::string query : {"moving left blue triangle", "a spinning top"}) {  // a class, and not one
    ASSERT_EQ(test::run_vifi("search " + index + " '" + query + "' --topk 8 --json --querybank " + demo.labels(), &log), 0) << log;
    const auto want = json_line(log, "{\"query\"");
    ASSERT_EQ(want["ranking"], "querybank");
    auto searched = client.Get("/search", httplib::Params{{"q", query}, {"topk", "8"}}, httplib::Headers{});
    ASSERT_TRUE(searched);
    ASSERT_EQ(searched->status, 200) << searched->body;
    const auto got = nlohmann::json::parse(searched->body);
    EXPECT_EQ(got["ranking"], "querybank");
    ASSERT_EQ(got["results"].size(), 8u);
    for (size_t i = 0; i < 8; ++i) {
      EXPECT_EQ(got["results"][i]["video"], want["results"][i]["video"]) << query << " " << i;
      EXPECT_NEAR(got["results"][i]["score"].get<double>(), want["results"][i]["score"].get<double>(), 1e-6) << query;
      EXPECT_NEAR(got["results"][i]["cosine"].get<double>(), want["results"][i]["cosine"].get<double>(), 1e-6) << query;
    }
  }
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(ServeCommand, WithoutAnIndexSearchSaysSoAndWithoutLabelsPredictSaysSo) {
  const auto& demo = test::demo_model();
  const auto dir = test::scratch_dir();
  fs::create_directories(dir / "tmp");
  ServerProcess server("--weights " + demo.weights() + " --labels 'red square,green circle'", dir / "tmp");
  ASSERT_GT(server.port(), 0) << server.log();
  httplib::Client client("127.0.0.1", server.port());
  auto search = client.Get("/search?q=dog");
  ASSERT_TRUE(search);
  EXPECT_EQ(search->status, 409);
  EXPECT_NE(search->body.find("--index"), std::string::npos);
  EXPECT_EQ(server.stop(), 0);
  std::string log;
  EXPECT_NE(test::run_vifi("serve --weights " + demo.weights(), &log), 0);
  EXPECT_NE(log.find("nothing to predict or search"), std::string::npos) << log;
}

}  // namespace
}  // namespace vifi
