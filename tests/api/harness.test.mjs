// The harness's fetch after node's event loop was blocked (a synchronous
// psql on a busy machine): a server that closed the idle keep-alive
// connection meanwhile (H2O after 10 s; this one after 1 s) does not fail
// the next request, POST included — fetch uses a new connection after more
// than 4 s without use, as it would have had its idle timer been able to run.
// Without that, the request went out on the closed connection: "fetch
// failed", cause "other side closed".
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import './lib/harness.mjs';

let connections = 0;
const server = net.createServer((sock) => {
  connections++;
  let idle;
  const arm = () => { clearTimeout(idle); idle = setTimeout(() => sock.end(), 1000); };
  arm();
  sock.on('data', () => { sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'); arm(); });
  sock.on('error', () => {});
});
after(() => server.close());

test('after a blocked event loop the next request, GET or POST, goes out on a new connection', async () => {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/`;
  for (const method of ['POST', 'GET']) {
    assert.equal(await (await fetch(url, { method, body: method === 'POST' ? 'a' : undefined })).text(), 'ok');
    const before = connections;
    spawnSync('sleep', ['4.5']); // the event loop is blocked; the server closes the idle connection after 1 s
    const r = await fetch(url, { method, body: method === 'POST' ? 'b' : undefined });
    assert.equal(await r.text(), 'ok', `${method} after the block`);
    assert.equal(connections, before + 1, 'a new connection');
  }
});
