/** The Debian packages the cluster runs on, and the source package it is built from. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { $ } from 'zx';
import { SOURCE_PACKAGE } from './layout.ts';

const sh = $({ quiet: true });
const apt = $({ quiet: true, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });

/** What runs the cluster (etcd, containerd, CNI, DNS, iptables) and what builds it (Go, make, gcc). */
export const RUNTIME_PACKAGES = ['etcd-server', 'containerd', 'runc', 'containernetworking-plugins', 'dnsmasq-base', 'iptables', 'conntrack', 'openssl'];
export const BUILD_PACKAGES = ['golang-go', 'build-essential', 'rsync', 'dpkg-dev', 'golang-github-modern-go-reflect2-dev', 'golang-github-json-iterator-go-dev'];

const DEB_SRC_FILE = '/etc/apt/sources.list.d/saas-deb-src.sources';
const DEB_SRC = `Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

export async function missingPackages(names: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    const status = await sh`dpkg-query -W -f=${'${Status}'} ${name}`.nothrow();
    if (!status.stdout.includes('install ok installed')) missing.push(name);
  }
  return missing;
}

let updated = false;
async function aptUpdate(): Promise<void> {
  if (updated) return;
  await apt`apt-get update -qq`;
  updated = true;
}

/** Installs whichever of names is missing; returns what it installed. */
export async function installPackages(names: string[]): Promise<string[]> {
  const missing = await missingPackages(names);
  if (missing.length === 0) return [];
  await aptUpdate();
  await apt`apt-get install -y -qq --no-install-recommends ${missing}`;
  return missing;
}

const dpkgLess = (a: string, b: string) => $.sync({ quiet: true, nothrow: true })`dpkg --compare-versions ${a} lt ${b}`.exitCode === 0;

function newestVersion(showsrc: string): string | undefined {
  const versions = [...showsrc.matchAll(/^Version: (\S+)$/gm)].flatMap((m) => (m[1] ? [m[1]] : []));
  return versions.reduce<string | undefined>((best, v) => (best === undefined || dpkgLess(best, v) ? v : best), undefined);
}

/** The version `apt-get source kubernetes` fetches: the cache key of the binaries. */
export async function sourceVersion(): Promise<string> {
  const query = () => sh`apt-cache showsrc --only-source ${SOURCE_PACKAGE}`.nothrow();
  let version = newestVersion((await query()).stdout);
  if (!version) {
    if (!existsSync(DEB_SRC_FILE)) await writeFile(DEB_SRC_FILE, DEB_SRC);
    updated = false;
    await aptUpdate();
    version = newestVersion((await query()).stdout);
  }
  if (!version) throw new Error(`apt knows no source package ${SOURCE_PACKAGE}, even with ${DEB_SRC_FILE}; check apt-get update`);
  return version;
}
