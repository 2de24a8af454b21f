// The HEALTHCHECK of every service image (exec form: the base image may have no shell).
//   node /app/healthcheck.mjs http [path=/healthz] [port=$PORT|8080]   → healthy when the path answers 2xx
//   node /app/healthcheck.mjs tcp [port=$PORT]                         → healthy when the port accepts a connection
//   … --unless NAME=value                                              → healthy without a check when $NAME is value
//                                                                        (the scope image's probe role serves no HTTP)
import net from 'node:net';

const argv = process.argv.slice(2);
const unless = argv.indexOf('--unless');
if (unless !== -1) {
  const [name, value] = (argv.splice(unless, 2)[1] ?? '').split('=');
  if (name && process.env[name] === value) process.exit(0);
}
const [kind = 'http', ...args] = argv;
const timeoutMs = 2500;
const fail = (why) => {
  process.stderr.write(`unhealthy: ${why}\n`);
  process.exit(1);
};
setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs).unref();

if (kind === 'http') {
  const path = args[0] ?? '/healthz';
  const port = Number(args[1] ?? process.env.PORT ?? 8080);
  fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) }).then(
    (res) => (res.ok ? process.exit(0) : fail(`GET ${path} answered ${res.status}`)),
    (err) => fail(`GET ${path}: ${err.cause?.code ?? err.message}`),
  );
} else if (kind === 'tcp') {
  const port = Number(args[0] ?? process.env.PORT);
  const socket = net.connect({ host: '127.0.0.1', port }, () => {
    socket.end();
    process.exit(0);
  });
  socket.on('error', (err) => fail(`connect to port ${port}: ${err.code ?? err.message}`));
} else {
  fail(`unknown check ${kind}`);
}
