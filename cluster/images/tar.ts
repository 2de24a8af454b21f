/**
 * A small in-memory tar (ustar + PAX long names) writer: build contexts and the base image's root file
 * system are made by us, entry by entry, so nothing is sent that we did not choose.
 */

export interface TarEntry {
  /** Path inside the archive, no leading slash. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  data?: Buffer;
  /** For symlinks. */
  target?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since epoch; fixed by default so the same inputs give the same bytes. */
  mtime?: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, typeflag: string, entry: TarEntry, linkname = '', prefix = ''): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(entry.mode ?? (entry.type === 'file' ? 0o644 : 0o755), 8), 100, 'ascii');
  h.write(octal(entry.uid ?? 0, 8), 108, 'ascii');
  h.write(octal(entry.gid ?? 0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(entry.mtime ?? 0, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(typeflag, 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

function padded(data: Buffer): Buffer[] {
  const rest = data.length % BLOCK;
  return rest ? [data, Buffer.alloc(BLOCK - rest)] : [data];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bytes = Buffer.byteLength(body);
  let len = bytes + 1;
  while (String(len).length + bytes !== len) len = String(len).length + bytes;
  return `${len}${body}`;
}

/** Splits a long path into ustar's prefix/name, or returns null when only a PAX header can carry it. */
function splitName(path: string): { name: string; prefix: string } | null {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  return null;
}

export function createTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const path = entry.type === 'dir' ? entry.path.replace(/\/?$/, '/') : entry.path;
    const typeflag = entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2';
    const data = entry.type === 'file' ? (entry.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    let split = splitName(path);
    const linkTooLong = entry.target !== undefined && Buffer.byteLength(entry.target) > 100;
    if (!split || linkTooLong) {
      let pax = '';
      if (!split) pax += paxRecord('path', path);
      if (linkTooLong) pax += paxRecord('linkpath', entry.target ?? '');
      const paxData = Buffer.from(pax);
      parts.push(header('PaxHeader', paxData.length, 'x', { ...entry, type: 'file', mode: 0o644 }), ...padded(paxData));
      split = split ?? { name: path.slice(-100), prefix: '' };
    }
    parts.push(header(split.name, data.length, typeflag, entry, linkTooLong ? '' : (entry.target ?? ''), split.prefix));
    if (data.length) parts.push(...padded(data));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** Adds the directory entries every file's parents need, in order, without duplicates. */
export function withParentDirs(entries: TarEntry[], mode = 0o755): TarEntry[] {
  const seen = new Set(entries.filter((e) => e.type === 'dir').map((e) => e.path.replace(/\/$/, '')));
  const out: TarEntry[] = [];
  for (const entry of entries) {
    const segments = entry.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/');
      if (!seen.has(dir)) {
        seen.add(dir);
        out.push({ path: dir, type: 'dir', mode });
      }
    }
    out.push(entry);
  }
  return out;
}
