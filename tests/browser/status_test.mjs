// The fleet dashboard in a real browser (docs/fleet.md): Debian's chromium, headless, over
// the DevTools protocol (puppeteer-core). Two trafficd on one Redis, each under click load;
// the browser signs in on one's /status and must show both online with clicks/s; then one
// stops and must turn offline; then the one serving the page restarts and the page's
// stream must come back by itself.
//
// With SCREENSHOT=<path> (make screenshots), the page with both instances live is saved there.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';
import { freePort, launchChromium, redisPort, run } from './support.mjs';

const env = process.env;
const data = env.TEST_DATA_DIR;
const adminToken = 'browser-status-admin-token';
const cases = JSON.parse(readFileSync(path.join(data, 'recipes/cases.json'), 'utf8'));
const work = mkdtempSync(path.join(os.tmpdir(), 'traffic-status-'));
const children = new Set();

function fail(message) {
  throw new Error(message);
}


// One trafficd named `id` on `port`, sharing Redis under this run's prefix; resolves once it
// listens, with its process.
function startTrafficd(id, port, redis) {
  const args = ['--port', String(port), '--threads', '1', '--instance-id', id,
    '--maxmind-path', path.join(data, 'geoip/test-data/GeoIP2-City-Test.mmdb'),
    '--maxmind-path-isp', path.join(data, 'geoip/test-data/GeoIP2-ISP-Test.mmdb'),
    '--offers-recipe-path', path.join(data, 'recipes/offersRecipe.json.gz'),
    '--campaigns-recipe-path', path.join(data, 'recipes/campaignsRecipe.json.gz'),
    '--trust-proxy', 'loopback',
    '--redis-host', '127.0.0.1', '--redis-port', String(redis), '--redis-key-prefix', `status-${process.pid}:`];
  const trafficd = spawn(env.TRAFFICD, args, {
    env: { ...env, ENCRIPTION_KEY: cases.encryption_key, URL_HASH_SECRET: cases.url_hash_secret, ADMIN_TOKEN: adminToken },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(trafficd);
  trafficd.on('exit', () => children.delete(trafficd));
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: trafficd.stderr }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') resolve(trafficd);
        if (entry.level === 'error') process.stderr.write(`${id}: ${line}\n`);
      } catch {
        process.stderr.write(`${id}: ${line}\n`);
      }
    });
    trafficd.on('exit', (code) => reject(new Error(`${id} exited with ${code} before listening`)));
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', resolve);
    child.kill('SIGTERM');
  });
}

// Clicks on two keep-alive connections until stopped: the first shared case's link.
function clickLoad(port) {
  const c = cases.cases[0];
  let target = `/pl?o=${encodeURIComponent(c.o)}`;
  for (const [key, value] of Object.entries(c.query)) target += `&${key}=${encodeURIComponent(value)}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  let running = true;
  const loop = async () => {
    while (running) {
      await new Promise((resolve) => {
        const request = http.get({ host: '127.0.0.1', port, path: target, agent, headers: { 'X-Forwarded-For': c.ip } },
          (response) => { response.resume(); response.on('end', resolve); });
        request.on('error', () => setTimeout(resolve, 50));
      });
    }
  };
  const loops = [loop(), loop()];
  return { stop: async () => { running = false; await Promise.all(loops); agent.destroy(); } };
}

function ok(what) {
  console.log(`ok - ${what}`);
}

async function main() {
  const redis = await redisPort(work, children);
  const portA = await freePort();
  const portB = await freePort();
  let a = await startTrafficd('edge-a', portA, redis);
  const b = await startTrafficd('edge-b', portB, redis);
  const loadA = clickLoad(portA);
  const loadB = clickLoad(portB);

  const browser = await launchChromium(puppeteer);
  try {
    const tab = await browser.newPage();
    await tab.setViewport({ width: 1400, height: 900 });
    await tab.goto(`http://127.0.0.1:${portA}/status`, { waitUntil: 'load' });
    if (await tab.$('#rows')) fail('the dashboard was shown without the token');
    await tab.type('input[name=token]', 'not-the-token');
    await Promise.all([tab.waitForNavigation(), tab.click('input[type=submit]')]);
    if (await tab.$('#rows')) fail('a wrong token opened the dashboard');
    ok('no dashboard without the token');
    await tab.type('input[name=token]', adminToken);
    await Promise.all([tab.waitForNavigation(), tab.click('input[type=submit]')]);
    if (!(await tab.$('#rows'))) fail('the right token did not open the dashboard');
    ok('signed in');

    // Both instances online with clicks.
    const live = (id) => `(() => { const r = document.querySelector('tr[data-instance="${id}"]');
      return r && !r.classList.contains('offline') && parseFloat(r.children[2].textContent) > 0; })()`;
    await tab.waitForFunction(`${live('edge-a')} && ${live('edge-b')}`, { timeout: 20000 });
    ok('both instances online with clicks/s');
    await tab.waitForFunction(() => document.querySelectorAll('#charts svg polyline').length >= 12, { timeout: 10000 });
    if (env.SCREENSHOT) {
      // A chart worth looking at: half a minute of both instances.
      await tab.waitForFunction(() => [...series.values()].every((l) => l.length >= 30), { timeout: 60000 });
      await tab.screenshot({ path: env.SCREENSHOT });
      ok(`screenshot in ${env.SCREENSHOT}`);
    }

    // One stops: offline once its last sample is 5 s old.
    await loadB.stop();
    await stop(b);
    await tab.waitForFunction(`(() => { const r = document.querySelector('tr[data-instance="edge-b"]');
      return r && r.classList.contains('offline'); })()`, { timeout: 20000 });
    ok('the stopped instance turned offline');
    if (!(await tab.evaluate(live('edge-a')))) fail('the running instance is not shown online');

    // The instance serving the page restarts: the page's stream reconnects by itself.
    const before = Number(await tab.$eval('#state', (s) => s.dataset.at));
    await loadA.stop();
    await stop(a);
    a = await startTrafficd('edge-a', portA, redis);
    await tab.waitForFunction((t) => Number(document.getElementById('state').dataset.at) > t + 3000,
      { timeout: 30000 }, before);
    ok('the stream came back after trafficd restarted');
  } finally {
    await browser.close();
  }
}

await run('browser status test', main, children, work);
