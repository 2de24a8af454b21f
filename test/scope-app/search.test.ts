import test from 'ava';
import { parseQuery } from '../../images/scope/web/search.ts';
import type { NodeSummary } from '../../images/scope/src/app/summary.ts';

const node = (label: string, labelMinor: string, metadata: Record<string, [string, string]>, metrics: Record<string, [string, number]> = {}): NodeSummary => ({
  id: label,
  label,
  labelMinor,
  rank: label,
  shape: 'square',
  adjacency: [],
  metadata: Object.entries(metadata).map(([id, [l, value]]) => ({ id, label: l, value, priority: 0 })),
  metrics: Object.entries(metrics).map(([id, [l, value]]) => ({ id, label: l, format: '', value, min: 0, max: 100 })),
  parents: [],
});
const nodes = [
  node('nginx', 'host-1 (1234)', { pid: ['PID', '1234'], cmdline: ['Command', 'nginx -g daemon off;'] }, { process_cpu_usage_percent: ['CPU', 5.5], process_memory_usage_bytes: ['Memory', 8 * 1024 * 1024] }),
  node('redis-server', 'host-2 (12345)', { pid: ['PID', '12345'] }, { process_cpu_usage_percent: ['CPU', 1], process_memory_usage_bytes: ['Memory', 200 * 1024 * 1024] }),
  node('web-1', 'k8s', { docker_image_name: ['Image', 'nginx:1.25'] }),
];
const find = (q: string) => {
  const m = parseQuery(q);
  return nodes.filter((n) => (m ? m(n) : true)).map((n) => n.label);
};

test('search: plain text over labels and metadata, case-insensitive', (t) => {
  t.deepEqual(find('NGINX'), ['nginx', 'web-1']); // web-1 by its image
  t.deepEqual(find('host-2'), ['redis-server']);
  t.deepEqual(find('daemon off'), ['nginx']);
  t.deepEqual(find('   '), ['nginx', 'redis-server', 'web-1']);
});

test('search: alternatives and regular expressions; a broken expression is plain text', (t) => {
  t.deepEqual(find('redis|web'), ['redis-server', 'web-1']);
  t.deepEqual(find('^web-\\d$'), ['web-1']);
  t.deepEqual(find('off;('), []);
  t.deepEqual(find('[1'), []);
});

test('search: field: value by a metadata label or id; a number is exact', (t) => {
  t.deepEqual(find('pid: 1234'), ['nginx']);
  t.deepEqual(find('PID:12345'), ['redis-server']);
  t.deepEqual(find('image: nginx'), ['web-1']);
  t.deepEqual(find('docker_image_name: 1\\.25'), ['web-1']);
  t.deepEqual(find('name: redis'), ['redis-server']);
  t.deepEqual(find('image: redis'), []);
});

test('search: metric comparisons with % and size units', (t) => {
  t.deepEqual(find('cpu > 4%'), ['nginx']);
  t.deepEqual(find('cpu < 4'), ['redis-server']);
  t.deepEqual(find('memory < 10mb'), ['nginx']);
  t.deepEqual(find('memory > 0.1GB'), ['redis-server']);
  t.deepEqual(find('cpu = 1'), ['redis-server']);
  t.deepEqual(find('open files > 1'), []);
});
