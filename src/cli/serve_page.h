// The page `vifi serve` answers on GET /: upload a video and see the top-k labels and the
// attention-rollout grid of the best one; search the index by text when the server has one.
// Self-contained (no external scripts, fonts or styles), so it works on an offline machine.
#pragma once

namespace vifi::cli {

inline constexpr const char* kServePage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vifi serve</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d2430; }
  h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
  .muted { color: #5b6675; } .error { color: #b3261e; font-weight: 600; }
  form { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; }
  button { padding: .35rem 1rem; border: 0; border-radius: 4px; background: #2456a6; color: #fff; cursor: pointer; }
  table { border-collapse: collapse; margin-top: .8rem; min-width: 28rem; }
  td { padding: .2rem .6rem; } td.p { text-align: right; font-variant-numeric: tabular-nums; }
  .bar { height: .8rem; background: #2456a6; border-radius: 2px; }
  img#rollout { display: block; margin-top: 1rem; max-width: 100%; image-rendering: pixelated; border: 1px solid #d6dbe3; }
  input[type=text] { width: 22rem; padding: .3rem; }
</style>
</head>
<body>
<h1>vifi serve</h1>
<p class="muted" id="about">ViFi-CLIP: which of the server's labels does a video show, and where does the model look?</p>

<h2>Classify a video</h2>
<form id="predict-form">
  <input type="file" id="video" name="video" accept="video/*" required>
  <button type="submit" id="predict-button">Predict</button>
  <span id="predict-status" class="muted"></span>
</form>
<table id="top"></table>
<img id="rollout" alt="" hidden>
<p id="rollout-caption" class="muted"></p>

<section id="search-section" hidden>
<h2>Search the index</h2>
<form id="search-form">
  <input type="text" id="query" placeholder="e.g. playing guitar" required>
  <button type="submit">Search</button>
  <span id="search-status" class="muted"></span>
</form>
<table id="hits"></table>
</section>

<script>
const $ = (id) => document.getElementById(id);
function row(cells) {
  const tr = document.createElement('tr');
  for (const [text, cls, bar] of cells) {
    const td = document.createElement('td');
    if (cls) td.className = cls;
    if (bar !== undefined) {
      const div = document.createElement('div');
      div.className = 'bar'; div.style.width = Math.max(1, Math.round(bar * 200)) + 'px';
      td.appendChild(div);
    } else td.textContent = text;
    tr.appendChild(td);
  }
  return tr;
}
function fail(el, message) { el.textContent = message; el.className = 'error'; }
fetch('health').then((r) => r.json()).then((h) => {
  $('about').textContent = h.labels.length + ' labels' + (h.videos ? ', ' + h.videos + ' indexed videos' : '') +
      '; uploads up to ' + h.max_upload_mb + ' MB.';
  if (h.videos) $('search-section').hidden = false;
});
$('predict-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const status = $('predict-status');
  status.className = 'muted'; status.textContent = 'running...';
  $('top').replaceChildren(); $('rollout').hidden = true; $('rollout-caption').textContent = '';
  const body = new FormData(); body.append('video', $('video').files[0]);
  try {
    const r = await fetch('predict', { method: 'POST', body });
    const out = await r.json();
    if (!r.ok) return fail(status, out.error || ('HTTP ' + r.status));
    for (const t of out.top)
      $('top').appendChild(row([[t.label], [(100 * t.probability).toFixed(1) + '%', 'p'], ['', '', t.probability]]));
    status.textContent = out.frames + ' frames in ' + out.seconds.toFixed(2) + ' s';
    if (out.rollout) {
      $('rollout').src = out.rollout; $('rollout').hidden = false;
      $('rollout-caption').textContent = 'Attention rollout of each frame; similarity to "' + out.rollout_label + '".';
    }
  } catch (e) { fail(status, String(e)); }
});
$('search-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const status = $('search-status');
  status.className = 'muted'; status.textContent = 'searching...';
  $('hits').replaceChildren();
  try {
    const r = await fetch('search?topk=10&q=' + encodeURIComponent($('query').value));
    const out = await r.json();
    if (!r.ok) return fail(status, out.error || ('HTTP ' + r.status));
    status.textContent = 'prompt: "' + out.prompt + '"';
    for (const h of out.results) $('hits').appendChild(row([[h.rank + '.'], [h.score.toFixed(3), 'p'], [h.video]]));
  } catch (e) { fail(status, String(e)); }
});
</script>
</body>
</html>
)HTML";

}  // namespace vifi::cli
