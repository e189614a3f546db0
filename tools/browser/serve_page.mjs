// Drives `vifi serve`'s page in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core): uploads a video, waits for the top-k table and the rollout image, searches
// the index, and saves a screenshot. Prints one JSON line of what the page showed.
//   node tools/browser/serve_page.mjs URL VIDEO QUERY SCREENSHOT.png
import { chromium } from 'playwright-core';

const [url, video, query, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: serve_page.mjs URL VIDEO QUERY SCREENSHOT.png');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // This machine's network is closed: no background connections, no first-run work.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => !document.getElementById('search-section').hidden, null, { timeout: 30000 });
  await page.setInputFiles('#video', video);
  await page.click('#predict-button');
  await page.waitForSelector('#top tr', { timeout: 120000 });
  await page.waitForFunction(() => {
    const img = document.getElementById('rollout');
    return !img.hidden && img.complete && img.naturalWidth > 0;
  }, null, { timeout: 60000 });
  const top = await page.$$eval('#top tr', (rows) => rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent]));
  const rollout = await page.$eval('#rollout', (img) => [img.naturalWidth, img.naturalHeight]);
  await page.fill('#query', query);
  await page.click('#search-form button');
  await page.waitForSelector('#hits tr', { timeout: 60000 });
  const hits = await page.$$eval('#hits tr', (rows) => rows.map((r) => r.cells[2].textContent));
  const status = await page.textContent('#predict-status');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ top, rollout, hits, status, errors }));
  if (errors.length) process.exitCode = 1;
} finally {
  await browser.close();
}
