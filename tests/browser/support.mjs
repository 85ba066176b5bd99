// What the browser tests share: free ports, and Redis — the test script's (run-tests.sh
// exports TRAFFIC_TEST_REDIS_PORT) or a private redis-server started here.

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Resolves with the port of a Redis to use; a private one is added to `children` (to stop).
export async function redisPort(work, children) {
  if (process.env.TRAFFIC_TEST_REDIS_PORT) return Number(process.env.TRAFFIC_TEST_REDIS_PORT);
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                                       '--dir', work], { stdio: 'ignore' });
  children.add(redis);
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (up) return port;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('redis-server did not start');
}

// Debian's chromium, headless (CHROMIUM overrides the path). --no-sandbox: tests run as root.
export function launchChromium(puppeteer) {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

// Runs a test's `main`, prints its outcome, sets the exit code, then stops `children` and
// removes `work`, whatever happened.
export async function run(name, main, children, work) {
  try {
    await main();
    console.log(`${name} passed`);
  } catch (error) {
    console.error(`not ok - ${error.message}`);
    process.exitCode = 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
}
