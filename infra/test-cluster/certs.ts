/** The cluster's CA and every certificate signed by it, made with openssl (EC P-256; the service-account key RSA). */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { CLUSTER_DOMAIN, KUBERNETES_SERVICE_IP, NODE_NAME, state } from './layout.ts';

const sh = $({ quiet: true, cwd: state.pki });
const DAYS = '365';

export interface CertSpec {
  name: string;
  cn: string;
  org?: string;
  usage: 'server' | 'client' | 'both';
  ips?: string[];
  dns?: string[];
}

export const pki = {
  caCert: join(state.pki, 'ca.crt'),
  caKey: join(state.pki, 'ca.key'),
  saKey: join(state.pki, 'sa.key'),
  saPub: join(state.pki, 'sa.pub'),
  cert: (name: string) => join(state.pki, `${name}.crt`),
  key: (name: string) => join(state.pki, `${name}.key`),
};

/** The client identities of the components; the authorizers (Node, RBAC) know these names. */
export const CLIENTS: CertSpec[] = [
  { name: 'admin', cn: 'saas-test-admin', org: 'system:masters', usage: 'client' },
  { name: 'kubelet-client', cn: `system:node:${NODE_NAME}`, org: 'system:nodes', usage: 'client' },
  { name: 'kube-controller-manager', cn: 'system:kube-controller-manager', usage: 'client' },
  { name: 'kube-scheduler', cn: 'system:kube-scheduler', usage: 'client' },
  { name: 'kube-proxy', cn: 'system:kube-proxy', usage: 'client' },
  { name: 'apiserver-kubelet-client', cn: 'kube-apiserver-kubelet-client', org: 'system:masters', usage: 'client' },
];

export function servingCerts(nodeAddress: string): CertSpec[] {
  return [
    {
      name: 'apiserver',
      cn: 'kube-apiserver',
      usage: 'server',
      ips: ['127.0.0.1', nodeAddress, KUBERNETES_SERVICE_IP],
      dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${CLUSTER_DOMAIN}`],
    },
    { name: 'kubelet', cn: NODE_NAME, usage: 'server', ips: ['127.0.0.1', nodeAddress], dns: [NODE_NAME, 'localhost'] },
  ];
}

/** The openssl x509v3 extensions of one certificate. */
export function extensions(spec: CertSpec): string {
  const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[spec.usage];
  const sans = [...(spec.dns ?? []).map((d) => `DNS:${d}`), ...(spec.ips ?? []).map((ip) => `IP:${ip}`)];
  return [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${eku}`,
    ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
    '',
  ].join('\n');
}

const subject = (spec: CertSpec) => `/CN=${spec.cn}${spec.org ? `/O=${spec.org}` : ''}`;

async function issue(spec: CertSpec): Promise<void> {
  const ext = join(state.pki, `${spec.name}.ext`);
  const csr = join(state.pki, `${spec.name}.csr`);
  await writeFile(ext, extensions(spec));
  await sh`openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ${pki.key(spec.name)} -subj ${subject(spec)} -out ${csr}`;
  await sh`openssl x509 -req -in ${csr} -CA ${pki.caCert} -CAkey ${pki.caKey} -CAcreateserial -days ${DAYS} -extfile ${ext} -out ${pki.cert(spec.name)}`;
  await rm(csr);
  await rm(ext);
}

/** Makes whatever is missing; a changed node address means a fresh state directory, so these never go stale. */
export async function ensureCertificates(nodeAddress: string): Promise<void> {
  await mkdir(state.pki, { recursive: true, mode: 0o700 });
  if (!existsSync(pki.caCert)) {
    await sh`openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ${pki.caKey} -subj /CN=saas-test-cluster-ca -days ${DAYS} -addext ${'basicConstraints=critical,CA:TRUE'} -addext ${'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'} -out ${pki.caCert}`;
  }
  for (const spec of [...servingCerts(nodeAddress), ...CLIENTS]) {
    if (!existsSync(pki.cert(spec.name))) await issue(spec);
  }
  if (!existsSync(pki.saKey)) {
    await sh`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ${pki.saKey}`;
    await sh`openssl pkey -in ${pki.saKey} -pubout -out ${pki.saPub}`;
  }
}
