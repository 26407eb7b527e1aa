// The benchmark's validating webhook, in a process of its own so that the clients measuring creates never share an
// event loop with it: allows every review but one of an object labelled probe=deny-webhook. Prints its port.
// Run by bench/admission.ts: node --import tsx bench/admission-webhook.ts <cert.pem> <key.pem>
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const [certFile, keyFile] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(certFile!), key: readFileSync(keyFile!) }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const review = JSON.parse(Buffer.concat(chunks).toString()) as { request: { uid: string; object?: { metadata?: { labels?: Record<string, string> } } } };
    const refused = review.request.object?.metadata?.labels?.probe === 'deny-webhook';
    const response = { uid: review.request.uid, allowed: !refused, ...(refused ? { status: { code: 403, message: 'refused by the benchmark webhook' } } : {}) };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.stdin.on('end', () => process.exit(0)).resume();
