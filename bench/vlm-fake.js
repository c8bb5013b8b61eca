// The tests' loopback fake VLM (tests/vlm/fake-vlm-server.ts: answers with the label of the demonstration most
// like the query image in 16×16 RGB), for the benches: bundled from its TypeScript by esbuild (a devDependency)
// into dist/bench/ and served from a child process of its own, so its image decoding never runs on the thread
// being measured. Its record of requests (bodies with every image) is emptied every second: a bench sends thousands.
//
//   const { startFake } = require('./vlm-fake'); const fake = await startFake(); … fake.url … fake.close();
const { fork } = require('node:child_process');
const path = require('node:path');

const BUNDLE = path.join(__dirname, '..', 'dist', 'bench', 'fake-vlm-server.js');

/** Starts the fake in a child process; resolves with its OpenAI-dialect base URL and a close(). */
function startFake() {
  const child = fork(__filename, ['--fake-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the fake VLM exited with ${code} before it listened`)));
    child.once('message', ({ url }) => resolve({ url, close: () => child.kill() }));
  });
}

function fakeChild() {
  // In dist/bench/, so that its packages (sharp) resolve from the repository's node_modules.
  require('esbuild').buildSync({ entryPoints: [path.join(__dirname, '..', 'tests', 'vlm', 'fake-vlm-server.ts')], bundle: true, platform: 'node', packages: 'external', outfile: BUNDLE, logLevel: 'error' });
  require(BUNDLE)
    .startFakeVlm()
    .then((fake) => {
      setInterval(() => (fake.requests.length = 0), 1000).unref();
      process.send({ url: fake.url });
    });
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module && process.argv[2] === '--fake-child') fakeChild();

module.exports = { startFake };
