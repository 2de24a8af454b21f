/**
 * The test cluster's storage, run by `up` as a daemon: what kind's local-path-provisioner does for a kind node.
 * A claim of the default StorageClass `standard` gets a hostPath PersistentVolume bound to it, a folder under
 * STATE_DIR/volumes made writable for any user (the images run as 1000); a volume its claim released is
 * deleted with its folder (reclaim policy Delete).
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, makeInformer, type V1PersistentVolume, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { KUBECONFIG_PATH, STORAGE_CLASS, STORAGE_PROVISIONER, state } from './layout.ts';

const kc = new KubeConfig();
kc.loadFromFile(KUBECONFIG_PATH);
const core = kc.makeApiClient(CoreV1Api);
const log = (msg: string) => console.log(`${new Date().toISOString()} ${msg}`);
const report = (err: unknown) => console.error(`${new Date().toISOString()} ${err instanceof Error ? err.message : String(err)}`);

const claims = makeInformer<V1PersistentVolumeClaim>(kc, '/api/v1/persistentvolumeclaims', () => core.listPersistentVolumeClaimForAllNamespaces());
const volumes = makeInformer<V1PersistentVolume>(kc, '/api/v1/persistentvolumes', () => core.listPersistentVolume());

const ours = (pv: V1PersistentVolume) => pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === STORAGE_PROVISIONER;

async function provision(claim: V1PersistentVolumeClaim): Promise<void> {
  const { namespace = '', name = '', uid = '' } = claim.metadata ?? {};
  const pvName = `pvc-${uid}`;
  if (volumes.list().some((v) => v.metadata?.name === pvName)) return;
  const path = join(state.volumes, pvName);
  const exists = async () => core.readPersistentVolume({ name: pvName }).then(() => true, () => false);
  if (await exists()) return;
  await mkdir(path, { recursive: true, mode: 0o777 });
  await chmod(path, 0o777); // mkdir's mode passes through the umask
  await core.createPersistentVolume({
    body: {
      metadata: { name: pvName, annotations: { 'pv.kubernetes.io/provisioned-by': STORAGE_PROVISIONER } },
      spec: {
        capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: STORAGE_CLASS,
        hostPath: { path, type: 'Directory' },
        claimRef: { namespace, name, uid },
      },
    },
  });
  log(`provisioned ${pvName} for ${namespace}/${name}`);
}

async function release(pv: V1PersistentVolume): Promise<void> {
  const name = pv.metadata?.name ?? '';
  await core.deletePersistentVolume({ name }).catch((err: unknown) => ((err as { code?: number }).code === 404 ? undefined : Promise.reject(err)));
  await rm(join(state.volumes, name), { recursive: true, force: true });
  log(`deleted ${name} (released by ${pv.spec?.claimRef?.namespace}/${pv.spec?.claimRef?.name})`);
}

/** One provision or release per object at a time: the informers call sync for every event. */
const busy = new Set<string>();
function once(key: string, work: () => Promise<void>): void {
  if (busy.has(key)) return;
  busy.add(key);
  void work().catch(report).finally(() => busy.delete(key));
}

function sync(): void {
  for (const c of claims.list()) {
    if (c.status?.phase === 'Pending' && !c.spec?.volumeName && !c.metadata?.deletionTimestamp && (c.spec?.storageClassName ?? STORAGE_CLASS) === STORAGE_CLASS) once(`claim/${c.metadata?.uid}`, () => provision(c));
  }
  for (const v of volumes.list()) if (ours(v) && v.status?.phase === 'Released') once(`volume/${v.metadata?.name}`, () => release(v));
}

function follow<T extends V1PersistentVolume | V1PersistentVolumeClaim>(informer: ReturnType<typeof makeInformer<T>>): void {
  informer.on('add', sync);
  informer.on('update', sync);
  informer.on('connect', sync);
  informer.on('error', (err) => {
    report(err);
    setTimeout(() => void informer.start().catch(report), 1000);
  });
}
follow(claims);
follow(volumes);
process.on('SIGTERM', () => {
  void claims.stop();
  void volumes.stop();
  process.exit(0);
});
await mkdir(state.volumes, { recursive: true });
await volumes.start();
await claims.start();
log('watching claims');
