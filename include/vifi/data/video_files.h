// What counts as a video file, and finding them below a folder: one answer for `vifi data index`
// (class folders), `vifi data prepare` (which files it re-encodes and which list entries it
// renames), `vifi bench loader --videos DIR` and the folders given to predict, index and embed.
#pragma once
#include <string>
#include <vector>

namespace vifi::data {

// Extensions (lower case, with the dot) that count as videos; matched case-insensitively.
const std::vector<std::string>& video_extensions();
// The extensions as one line, for messages: ".mp4 .avi ...".
std::string video_extensions_text();
bool has_video_extension(const std::string& filename);

// Files with a video extension at any depth below `directory`, sorted by path; names starting
// with '.' (hidden files and folders, editors' and downloaders' temporaries) and `vifi data
// prepare`'s unfinished ".partial-" files are left out. Folders reached through links are
// searched (util/file_tree); a broken link named like a video is kept, so reading it fails and
// names it. A folder that cannot be read or loops back, and a FIFO, socket or device named like a
// video, are left out with a warning naming them. Throws std::runtime_error naming `directory`
// when it cannot be read.
std::vector<std::string> videos_under(const std::string& directory);

// Each path as given, except a folder, which stands for videos_under(folder). Throws
// std::runtime_error naming a folder that holds no video.
std::vector<std::string> expand_video_folders(const std::vector<std::string>& paths);

}  // namespace vifi::data
