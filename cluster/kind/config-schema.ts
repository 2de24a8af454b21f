/**
 * kind's documented v1alpha4 Cluster config (kind.sigs.k8s.io/docs/user/configuration, and the Go types in
 * pkg/apis/config/v1alpha4/types.go) as a checker: unknown fields are errors, as kind's strict YAML decoding makes them.
 */

type Check = (value: unknown, path: string, problems: string[]) => void;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const str: Check = (v, path, p) => void (typeof v !== 'string' && p.push(`${path}: expected a string`));
const bool: Check = (v, path, p) => void (typeof v !== 'boolean' && p.push(`${path}: expected true or false`));
const oneOf =
  (...allowed: string[]): Check =>
  (v, path, p) =>
    void (!allowed.includes(v as string) && p.push(`${path}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`));
const port =
  (min: number): Check =>
  (v, path, p) =>
    void (!(Number.isInteger(v) && (v as number) >= min && (v as number) <= 65535) && p.push(`${path}: expected a port number ${min}–65535, got ${JSON.stringify(v)}`));
const ip: Check = (v, path, p) => {
  if (typeof v !== 'string' || !(/^(\d{1,3}\.){3}\d{1,3}$/.test(v) && v.split('.').every((o) => Number(o) <= 255)) && !/^[0-9a-f:]+$/i.test(v)) p.push(`${path}: expected an IP address, got ${JSON.stringify(v)}`);
};
const list =
  (item: Check): Check =>
  (v, path, p) => {
    if (!Array.isArray(v)) return void p.push(`${path}: expected a list`);
    v.forEach((x, i) => item(x, `${path}[${i}]`, p));
  };
const stringMap: Check = (v, path, p) => {
  if (!isObject(v)) return void p.push(`${path}: expected a map of strings`);
  for (const [k, x] of Object.entries(v)) str(x, `${path}.${k}`, p);
};
const boolMap: Check = (v, path, p) => {
  if (!isObject(v)) return void p.push(`${path}: expected a map of true/false`);
  for (const [k, x] of Object.entries(v)) bool(x, `${path}.${k}`, p);
};

function object(fields: Record<string, Check>, required: string[] = []): Check {
  return (v, path, p) => {
    if (!isObject(v)) return void p.push(`${path}: expected an object`);
    for (const key of required) if (!(key in v)) p.push(`${path}.${key}: required`);
    for (const [key, x] of Object.entries(v)) {
      const check = fields[key];
      if (!check) p.push(`${path}.${key}: unknown field (v1alpha4 has ${Object.keys(fields).join(', ')})`);
      else check(x, `${path}.${key}`, p);
    }
  };
}

const patchJSON6902 = object({ group: str, version: str, kind: str, patch: str }, ['group', 'version', 'kind', 'patch']);

const portMapping = object({ containerPort: port(0), hostPort: port(0), listenAddress: ip, protocol: oneOf('TCP', 'UDP', 'SCTP') }, ['containerPort']);
const mount = object({ hostPath: str, containerPath: str, readOnly: bool, selinuxRelabel: bool, propagation: oneOf('None', 'HostToContainer', 'Bidirectional') }, ['hostPath', 'containerPath']);

const node = object(
  {
    role: oneOf('control-plane', 'worker'),
    image: str,
    labels: stringMap,
    extraMounts: list(mount),
    extraPortMappings: list(portMapping),
    kubeadmConfigPatches: list(str),
    kubeadmConfigPatchesJSON6902: list(patchJSON6902),
  },
  ['role'],
);

const networking = object({
  ipFamily: oneOf('ipv4', 'ipv6', 'dual'),
  apiServerPort: port(0),
  apiServerAddress: ip,
  podSubnet: str,
  serviceSubnet: str,
  disableDefaultCNI: bool,
  kubeProxyMode: oneOf('iptables', 'ipvs', 'nftables', 'none'),
  dnsSearch: list(str),
});

const cluster = object(
  {
    kind: oneOf('Cluster'),
    apiVersion: oneOf('kind.x-k8s.io/v1alpha4'),
    name: str,
    nodes: list(node),
    networking,
    featureGates: boolMap,
    runtimeConfig: stringMap,
    kubeadmConfigPatches: list(str),
    kubeadmConfigPatchesJSON6902: list(patchJSON6902),
    containerdConfigPatches: list(str),
    containerdConfigPatchesJSON6902: list(str),
  },
  ['kind', 'apiVersion'],
);

/** The problems kind would refuse the config for, each as "path: what is wrong"; empty when it is valid. */
export function kindConfigProblems(config: unknown): string[] {
  const problems: string[] = [];
  cluster(config, 'config', problems);
  if (problems.length === 0 && isObject(config) && Array.isArray(config.nodes)) {
    const nodes = config.nodes as { role: string; extraPortMappings?: { hostPort?: number; listenAddress?: string; protocol?: string }[] }[];
    if (nodes.length > 0 && !nodes.some((n) => n.role === 'control-plane')) problems.push('config.nodes: needs at least one control-plane node');
    const seen = new Set<string>();
    for (const n of nodes)
      for (const m of n.extraPortMappings ?? []) {
        if (!m.hostPort) continue;
        const key = `${m.listenAddress ?? '0.0.0.0'}:${m.hostPort}/${m.protocol ?? 'TCP'}`;
        if (seen.has(key)) problems.push(`config.nodes: host port ${key} mapped twice`);
        seen.add(key);
      }
  }
  return problems;
}
