import test from 'ava';
import { nodeLabel } from '../../images/scope/src/app/render.ts';
import { syntheticReport } from '../../fixtures/reports/synthetic.ts';

const labelOf = (name: string) => {
  const report = syntheticReport({ hosts: 1, processesPerHost: 1 });
  const node = Object.values(report.topologies.Process!.nodes)[0]!;
  node.latest.name = { timestamp: report.ts ?? Date.now(), value: name };
  return nodeLabel(report, 'Process', node);
};

test('process labels: the program file name, a kernel thread whole, the name kept as rank', (t) => {
  t.is(labelOf('/usr/bin/node').label, 'node');
  t.is(labelOf('[kworker/0:0H-events_highpri]').label, 'kworker/0:0H-events_highpri');
  t.is(labelOf('[kworker/0:0H-events_highpri]').rank, '[kworker/0:0H-events_highpri]');
  t.is(labelOf('/usr/lib/chromium/chromium --type=renderer --change-stack-guard-on-fork=enable').label, 'chromium');
  t.is(labelOf('scope').label, 'scope');
});
