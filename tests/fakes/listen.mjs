// listen.mjs — what the fake servers share: listening on a free port of
// 127.0.0.1 (as a module), and running as a program for the C unit tests
// (tests/unit/fake_proc.h): `node <fake>.mjs <port-file>` writes the port to
// the file atomically (tmp + rename; printed when no file is given) and stops
// on SIGTERM or SIGINT.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Listen on 127.0.0.1 (free port): { port, baseUrl: origin + path, close }. */
export async function listenLocal(server, path = '') {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}${path}`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

/** When the module at meta.url is the program node runs: serve make()'s server as above. */
export function runAsProgram(meta, make) {
  if (process.argv[1] !== fileURLToPath(meta.url)) return;
  const portFile = process.argv[2];
  const { server } = make();
  server.listen(0, '127.0.0.1', () => {
    const port = String(server.address().port);
    if (portFile) {
      fs.writeFileSync(portFile + '.tmp', port);
      fs.renameSync(portFile + '.tmp', portFile);
    } else {
      console.log(port);
    }
  });
  const stop = () => { server.closeAllConnections(); server.close(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
