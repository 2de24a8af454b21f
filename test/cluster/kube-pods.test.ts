/** Which pod states end a wait at once (pure: the pod objects as the API returns them). */
import test from 'ava';
import type { V1Pod } from '@kubernetes/client-node';
import { fatalReason, podProgress } from '../../cluster/kubernetes/pods.ts';

const unschedulable = (message: string): V1Pod => ({ status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] } });

test('an unschedulable pod ends the wait, unless it only waits for its claim to be bound', (t) => {
  t.is(fatalReason(unschedulable('0/1 nodes are available: 1 Insufficient memory.'))?.reason, 'Unschedulable');
  t.is(fatalReason(unschedulable('0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims.')), undefined);
  t.is(podProgress(unschedulable('0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims.')), 'Pending');
});

test('a crash loop or a missing image ends the wait with the container named', (t) => {
  const waiting = (reason: string): V1Pod => ({ spec: { nodeName: 'n', containers: [{ name: 'c' }] }, status: { phase: 'Pending', containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message: 'm' } } }] } });
  t.deepEqual(fatalReason(waiting('CrashLoopBackOff')), { reason: 'CrashLoopBackOff', message: 'm', container: 'c' });
  t.is(fatalReason(waiting('ErrImageNeverPull'))?.reason, 'ErrImageNeverPull');
  t.is(fatalReason(waiting('ContainerCreating')), undefined);
});
