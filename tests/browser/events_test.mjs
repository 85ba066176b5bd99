// The site snippet in a real browser (docs/events.md): Debian's chromium, headless, driven
// over the DevTools protocol by puppeteer-core, opens a page served here with two ads, one
// below the fold. It scrolls to the second and clicks the first; trafficd's stats API must
// then show the page view, both impressions, one click and one visitor throughout.
//
//   node events_test.mjs   (run by run.sh, which installs puppeteer-core; see there for
//                           the environment it passes)

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';
import { freePort, launchChromium, redisPort, run } from './support.mjs';

const env = process.env;
const trafficdPath = env.TRAFFICD;
const data = env.TEST_DATA_DIR;
const adminToken = 'browser-test-admin-token';
const cases = JSON.parse(readFileSync(path.join(data, 'recipes/cases.json'), 'utf8'));
const work = mkdtempSync(path.join(os.tmpdir(), 'traffic-browser-'));
const children = new Set();

function fail(message) {
  throw new Error(message);
}


// trafficd with Redis (so events are counted) and the page's origin allowed; resolves with
// its port once it logs "listening".
function startTrafficd(redis, pageOrigin) {
  const args = ['--port', '0', '--threads', '2',
    '--maxmind-path', path.join(data, 'geoip/test-data/GeoIP2-City-Test.mmdb'),
    '--maxmind-path-isp', path.join(data, 'geoip/test-data/GeoIP2-ISP-Test.mmdb'),
    '--offers-recipe-path', path.join(data, 'recipes/offersRecipe.json.gz'),
    '--campaigns-recipe-path', path.join(data, 'recipes/campaignsRecipe.json.gz'),
    '--spool-dir', path.join(work, 'spool'), '--sinks', `file://${path.join(work, 'records')}`,
    '--redis-host', '127.0.0.1', '--redis-port', String(redis), '--redis-key-prefix', `browser-${process.pid}:`,
    '--event-origins', pageOrigin];
  const trafficd = spawn(trafficdPath, args, {
    env: { ...env, ENCRIPTION_KEY: cases.encryption_key, URL_HASH_SECRET: cases.url_hash_secret, ADMIN_TOKEN: adminToken },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  children.add(trafficd);
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: trafficd.stderr });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') resolve(entry.port);
        if (entry.level === 'error') process.stderr.write(`trafficd: ${line}\n`);
      } catch {
        process.stderr.write(`trafficd: ${line}\n`);
      }
    });
    trafficd.on('exit', (code) => reject(new Error(`trafficd exited with ${code} before listening`)));
  });
}

// The publisher's page: the snippet from trafficd (at the port `trafficd()` names once it
// runs), an ad at the top and one far below the fold.
function servePage(trafficd) {
  const page = () => `<!doctype html>
<html><head><meta charset="utf-8"><title>A story</title>
<script src="http://localhost:${trafficd()}/t.js" data-website="news.example" async></script></head>
<body style="margin:0">
<div data-ad-id="ad-top" style="width:300px;height:250px;background:#fc0"><a href="#top">An ad at the top</a></div>
<p style="height:3000px">The story.</p>
<div data-ad-id="ad-bottom" style="width:300px;height:250px;background:#0cf">An ad below the fold</div>
</body></html>`;
  const server = http.createServer((request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(page());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function stats(trafficdPort, which) {
  const response = await fetch(`http://127.0.0.1:${trafficdPort}/admin/stats/${which}?website=news.example`, {
    headers: { Authorization: `Bearer ${adminToken}` },
  });
  if (response.status !== 200) fail(`/admin/stats/${which}: ${response.status} ${await response.text()}`);
  return response.json();
}

function ad(answer, id) {
  return answer.ads.find((row) => row.ad_id === id) || { impressions: 0, clicks: 0 };
}

// Counting is asynchronous (the analytics sink reads the spool): asked again until `done`
// holds, for at most 20 s.
async function until(what, trafficdPort, which, done) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const answer = await stats(trafficdPort, which);
    if (done(answer)) return answer;
    if (Date.now() > deadline) fail(`${what}: not seen within 20 s; last answer ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function expectEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
  console.log(`ok - ${what}`);
}

async function main() {
  const redis = await redisPort(work, children);
  let trafficdPort = 0;
  const page = await servePage(() => trafficdPort);  // first: trafficd must allow the page's origin
  const pagePort = page.address().port;
  trafficdPort = await startTrafficd(redis, `http://localhost:${pagePort}`);

  const browser = await launchChromium(puppeteer);
  try {
    const tab = await browser.newPage();
    await tab.setViewport({ width: 800, height: 600 });
    await tab.goto(`http://localhost:${pagePort}/story.html`, { waitUntil: 'load' });

    // The top ad is in view: seen after a second. The other, below the fold, is not.
    let ads = await until('the top ad\'s impression', trafficdPort, 'ads', (a) => ad(a, 'ad-top').impressions === 1);
    expectEqual(ad(ads, 'ad-bottom').impressions, 0, 'the ad below the fold is not seen before the scroll');

    await tab.evaluate(() => document.querySelector('[data-ad-id="ad-bottom"]').scrollIntoView());
    ads = await until('the bottom ad\'s impression', trafficdPort, 'ads', (a) => ad(a, 'ad-bottom').impressions === 1);

    await tab.click('[data-ad-id="ad-top"] a');  // scrolls back up to it and clicks inside it
    ads = await until('the click', trafficdPort, 'ads', (a) => ad(a, 'ad-top').clicks === 1);

    const cookies = await browser.cookies();
    expectEqual(cookies.filter((c) => c.name === 'tid').length, 1, 'the visitor got one tid cookie');

    const pick = (row) => ({
      impressions: row.impressions, clicks: row.clicks, unique_clickers: row.unique_clickers,
      unique_visitors: row.unique_visitors,
    });
    expectEqual(pick(ad(ads, 'ad-top')), { impressions: 1, clicks: 1, unique_clickers: 1, unique_visitors: 1 },
      'the top ad: seen once, clicked once, by one visitor');
    expectEqual(pick(ad(ads, 'ad-bottom')), { impressions: 1, clicks: 0, unique_clickers: 0, unique_visitors: 1 },
      'the bottom ad: seen once after the scroll');
    expectEqual(ad(ads, 'ad-top').ctr, 1, 'CTR of the top ad');
    const pages = await stats(trafficdPort, 'pages');
    expectEqual(pages.websites.map((w) => ({ views: w.views, unique_visitors: w.unique_visitors, pages: w.pages })),
      [{ views: 1, unique_visitors: 1, pages: [{ page: '/story.html', views: 1 }] }],
      'one page view by one visitor');
  } finally {
    await browser.close();
    page.close();
  }
}

await run('browser events test', main, children, work);
