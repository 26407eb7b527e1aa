// Connection upgrades (WebSockets through notebooks/proxy) meet the same URL rules as every other request: a
// malformed escape is Go's 400 with the router's Status, answered before authentication, not a dropped connection.
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { after, before, it } from 'node:test';
import { startServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
before(async () => void (server = await startServer()));
after(() => server.stop());

/** One raw upgrade request; the whole answer the server writes before it closes the connection. */
function upgrade(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
    });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

it('an upgrade to a path with a malformed escape is a 400 Status, as the same GET is', async () => {
  const path = '/apis/ai.example.io/v1alpha1/namespaces/a/notebooks/b/proxy/%zz';
  const plain = await server.http('GET', path);
  assert.equal(plain.status, 400);
  const answer = await upgrade(path);
  assert.match(answer, /^HTTP\/1\.1 400 /);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { kind: string; code: number; message: string };
  assert.deepEqual(body, { ...body, kind: 'Status', code: 400, message: JSON.parse(plain.body).message });
});
