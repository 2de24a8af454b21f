import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Endpoints } from '../runtime.ts';

/**
 * `dev connect`'s browser proxy: an HTTP forward proxy on loopback that makes the in-cluster names
 * (frontend.default.svc.cluster.local, users, mailcatcher, and their short forms) reach the runtime's
 * endpoints. Any other host is refused: this is no open proxy to the internet.
 */

export interface Route {
  /** The Kubernetes Service name, e.g. "users". */
  service: string;
  /** Where it is reachable from this machine, e.g. http://127.0.0.1:4047 */
  target: string;
  /** Every host name that reaches it. */
  hosts: string[];
}

export interface ConnectProxyOptions {
  endpoints: Endpoints;
  /** Loopback port; 0 picks a free one. Default 8000. */
  port?: number;
  /** Listen address; loopback only. Default 127.0.0.1. */
  host?: string;
  namespace?: string;
  /** Called once per forwarded or refused request, for a log line. */
  onRequest?: (entry: { method: string; url: string; status: number | 'tunnel' }) => void;
}

export interface ConnectProxy {
  url: string;
  port: number;
  routes: Route[];
  close(): Promise<void>;
}

/** The names a Service answers to inside the cluster. */
export function serviceHosts(service: string, namespace = 'default'): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

export function routesFor(endpoints: Endpoints, namespace = 'default'): Route[] {
  const pairs: [string, string][] = [
    ['frontend', endpoints.frontend],
    ['users', endpoints.users],
    ['mailcatcher', endpoints.mail],
  ];
  return pairs.map(([service, target]) => ({ service, target: target.replace(/\/$/, ''), hosts: serviceHosts(service, namespace) }));
}

const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade']);

function forwardHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  const listed = new Set(String(headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || listed.has(k)) continue;
    out[k] = v;
  }
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, paragraphs: string[]): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em;color:#222}code{background:#f3f3f3;padding:0 .3em}</style>
</head><body><h1>${escapeHtml(title)}</h1>${paragraphs.map((p) => `<p>${p}</p>`).join('')}</body></html>\n`;
}

function routeList(routes: Route[]): string {
  return routes.map((r) => `<code>http://${escapeHtml(r.hosts[3]!)}</code> → <code>${escapeHtml(r.target)}</code>`).join('<br>');
}

export async function startConnectProxy(options: ConnectProxyOptions): Promise<ConnectProxy> {
  const host = options.host ?? '127.0.0.1';
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) throw new Error(`the proxy listens on loopback only, not ${host}`);
  const routes = routesFor(options.endpoints, options.namespace);
  const byHost = new Map<string, Route>();
  for (const r of routes) for (const h of r.hosts) byHost.set(h, r);
  const lookup = (hostname: string) => byHost.get(hostname.toLowerCase().replace(/\.$/, ''));
  const log = options.onRequest ?? (() => {});
  const known = routes.map((r) => r.hosts[3]).join(', ');

  const refuse = (res: http.ServerResponse, status: number, title: string, paragraphs: string[]) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', connection: 'close' });
    res.end(page(title, paragraphs));
  };

  const server = http.createServer((req, res) => {
    const raw = req.url ?? '/';
    if (raw.startsWith('/')) {
      // Someone opened the proxy itself in a browser: say what it is for.
      log({ method: req.method ?? 'GET', url: raw, status: 200 });
      refuse(res, 200, 'dev connect', [
        'This is a proxy for your browser, not a web site. Set your browser (or a profile of it) to use the HTTP proxy ' +
          `<code>${escapeHtml(`${host}:${(server.address() as net.AddressInfo).port}`)}</code>, then open:`,
        routeList(routes),
      ]);
      return;
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      log({ method: req.method ?? 'GET', url: raw, status: 400 });
      return refuse(res, 400, 'Bad request', [`<code>${escapeHtml(raw)}</code> is not a URL.`]);
    }
    const route = url.protocol === 'http:' ? lookup(url.hostname) : undefined;
    if (!route) {
      log({ method: req.method ?? 'GET', url: raw, status: 403 });
      return refuse(res, 403, 'Not a cluster address', [
        `<code>${escapeHtml(url.host)}</code> is not one of the services <code>dev connect</code> forwards to, so this proxy refuses it (it is no proxy to the internet).`,
        `It forwards: ${routeList(routes)}`,
      ]);
    }
    const target = new URL(route.target);
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port || 80,
        method: req.method,
        path: `${target.pathname.replace(/\/$/, '')}${url.pathname}${url.search}`,
        headers: { ...forwardHeaders(req.headers), host: url.host },
      },
      (up) => {
        log({ method: req.method ?? 'GET', url: raw, status: up.statusCode ?? 502 });
        res.writeHead(up.statusCode ?? 502, up.statusMessage, forwardHeaders(up.headers) as http.OutgoingHttpHeaders);
        up.pipe(res);
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      log({ method: req.method ?? 'GET', url: raw, status: 502 });
      if (res.headersSent) return res.destroy();
      refuse(res, 502, `${route.service} is not answering`, [
        `Could not reach <code>${escapeHtml(route.service)}</code> at <code>${escapeHtml(route.target)}</code>: ${escapeHtml(err.code ?? err.message)}.`,
        'Is the system up? Run <code>dev status</code>, or <code>dev up</code>.',
      ]);
    });
    req.pipe(upstream);
    req.on('error', () => upstream.destroy());
  });

  const tunnels = new Set<Duplex>();
  const tunnel = (client: Duplex, route: Route, first: (upstream: net.Socket) => void, label: { method: string; url: string }) => {
    const target = new URL(route.target);
    const upstream = net.connect(Number(target.port || 80), target.hostname);
    tunnels.add(client);
    tunnels.add(upstream);
    const cleanup = () => {
      client.destroy();
      upstream.destroy();
      tunnels.delete(client);
      tunnels.delete(upstream);
    };
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      log({ ...label, status: 'tunnel' });
      first(upstream);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      if (!connected) {
        log({ ...label, status: 502 });
        client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${route.service} at ${route.target} is not answering: ${err.code ?? err.message}\n`);
      }
      cleanup();
    });
    client.on('error', cleanup);
    client.on('close', cleanup);
    upstream.on('close', cleanup);
  };

  // CONNECT host:port — browsers use it for https and for websockets through a proxy.
  server.on('connect', (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
    const authority = req.url ?? '';
    const hostname = authority.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const route = lookup(hostname);
    const label = { method: 'CONNECT', url: authority };
    if (!route) {
      log({ ...label, status: 403 });
      client.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${hostname} is not a cluster address; this proxy only reaches ${known}\n`);
      return;
    }
    tunnel(client, route, (upstream) => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
    }, label);
  });

  // A websocket (or other upgrade) asked for by absolute URL, without CONNECT.
  server.on('upgrade', (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
    const raw = req.url ?? '';
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
    const route = url && (url.protocol === 'http:' || url.protocol === 'ws:') ? lookup(url.hostname) : undefined;
    const label = { method: req.method ?? 'GET', url: raw };
    if (!url || !route) {
      log({ ...label, status: 403 });
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nnot a cluster address\n');
      return;
    }
    const u = url;
    tunnel(client, route, (upstream) => {
      const lines = [`${req.method} ${u.pathname}${u.search} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!;
        if (/^proxy-/i.test(name)) continue;
        lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
    }, label);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    routes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of tunnels) s.destroy();
        tunnels.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
