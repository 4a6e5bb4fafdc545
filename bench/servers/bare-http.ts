/**
 * Baseline: a bare `node:http` server on the conversation's routes (see ./bare-routes.ts).
 * `node --import tsx bench/servers/bare-http.ts [--port 0] [--get-body file]`
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BASE, getDocument, nextId, portArg, readJson } from './bare-routes.js';

const doc = getDocument(process.argv);
const START = /^\/genesys\/1\/cs\/services(?:\/[^/]+\/(?:states|tasks))?\/start$/;
const END = /^\/genesys\/1\/cs\/services\/[^/]+(?:\/(?:states|tasks)\/\d+)?\/end$/;
const GET = /^\/genesys\/1\/cs\/services\/[^/]+$/;

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0] ?? '';
  if (!path.startsWith(BASE)) return send(res, 404, { message: 'not found' });
  if (req.method === 'POST' && (START.test(path) || END.test(path))) {
    readJson(req).then(
      () => (START.test(path) ? send(res, 201, { id: nextId() }) : send(res, 204)),
      () => send(res, 400, { message: 'bad json' }),
    );
    return;
  }
  if (req.method === 'GET' && GET.test(path)) return send(res, 200, doc);
  send(res, 404, { message: 'not found' });
});

server.listen(portArg(process.argv), '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
