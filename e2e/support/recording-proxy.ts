import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as it crossed the wire, with its full body (and, for /v1, the full answer). */
export interface Exchange {
  method: string;
  path: string;
  requestBody: Buffer;
  status: number;
  responseBody: Buffer | null;
}

export interface RecordingProxy {
  /** Origin the browser should load the demo from. */
  url: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

/**
 * A plain HTTP proxy in front of the relay that keeps every request body
 * byte for byte. Chromium hands Playwright's `request.postDataBuffer()`
 * nothing for large bodies (ciphertexts and Galois keys are hundreds of kB
 * to MBs), so the privacy assertions read what actually went over the wire
 * here instead. Page and API stay on one origin (the proxy's).
 */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const exchanges: Exchange[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const record: Exchange = { method: req.method ?? 'GET', path, requestBody: Buffer.concat(chunks), status: 0, responseBody: null };
      exchanges.push(record);
      const keepAnswer = path.startsWith('/v1/');
      const upstreamRequest = http.request({ host: target.hostname, port: target.port, method: record.method, path, headers: { ...req.headers, host: target.host }, agent }, (upstreamResponse) => {
        record.status = upstreamResponse.statusCode ?? 0;
        res.writeHead(record.status, upstreamResponse.headers);
        const answer: Buffer[] = [];
        upstreamResponse.on('data', (chunk: Buffer) => {
          if (keepAnswer) answer.push(chunk);
          res.write(chunk);
        });
        upstreamResponse.on('end', () => {
          if (keepAnswer) record.responseBody = Buffer.concat(answer);
          res.end();
        });
        upstreamResponse.on('error', () => res.destroy());
      });
      upstreamRequest.on('error', () => {
        record.status = 502;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('upstream relay unreachable');
      });
      // The browser aborted (Stop): abort upstream too, like a direct connection would.
      res.on('close', () => {
        if (!res.writableFinished) upstreamRequest.destroy();
      });
      upstreamRequest.end(record.requestBody);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
