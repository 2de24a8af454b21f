import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import Docker from 'dockerode';
import { Scanner, randomProbeID } from '../../images/scope/src/probe/scan.ts';
import { connectDocker } from '../../images/scope/src/probe/docker.ts';
import type { DockerSetting } from '../../images/scope/src/probe/docker.ts';
import { captureLog } from './helpers.ts';

const hostName = os.hostname();

function scanner(docker: DockerSetting | undefined, log = captureLog()) {
  return {
    log,
    scanner: new Scanner({
      procRoot: '/proc',
      hostID: hostName,
      hostName,
      probeID: randomProbeID(),
      version: '1.13.2',
      log: log.log,
      docker,
      kubernetes: false,
      windowMs: 3000,
    }),
  };
}

async function dockerAnswers(): Promise<Docker | undefined> {
  const docker = connectDocker(undefined);
  if (!docker) return undefined;
  try {
    await docker.ping();
    return docker;
  } catch {
    return undefined;
  }
}

/** A tar (on stdout of `tar`) holding /bin/sleep and the libraries it links: the smallest image that runs. */
function sleepImageTar(): NodeJS.ReadableStream {
  const libs = execFileSync('ldd', ['/bin/sleep'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.match(/(\/\S+) \(0x/)?.[1])
    .filter((p): p is string => Boolean(p));
  const files = ['/bin/sleep', ...libs].map((p) => p.slice(1));
  const tar = spawn('tar', ['-c', '--dereference', '-f', '-', '-C', '/', ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
  return tar.stdout;
}

test('without a Docker socket, containers are skipped silently: one log line, no error, no container topology', async (t) => {
  const { scanner: s, log } = scanner({ socketPath: '/nonexistent/docker.sock' });
  t.false(s.dockerEnabled);
  const first = await s.scan();
  const second = await s.scan();
  t.deepEqual(Object.keys(first.report.topologies.Container!.nodes), []);
  t.deepEqual(Object.keys(second.report.topologies.ContainerImage!.nodes), []);
  t.is(log.messages().filter((m) => /no Docker socket/.test(m)).length, 1, 'said once');
  t.is(log.lines.filter((l) => l.level === 'error' || l.level === 'warn').length, 0);
  t.truthy(second.report.topologies.Process!.nodes[`${hostName};${process.pid}`], 'the rest of the scan is unaffected');
});

test('with the real Docker daemon: container and image nodes, processes parented to their container (init by pid, exec by cgroup), pod label → pod parent', async (t) => {
  const docker = await dockerAnswers();
  if (!docker) {
    // No daemon on this machine: the default detection must then find nothing and stay quiet.
    const { scanner: s, log } = scanner(undefined);
    const { report } = await s.scan();
    t.deepEqual(Object.keys(report.topologies.Container!.nodes), []);
    t.is(log.lines.filter((l) => l.level === 'error').length, 0);
    t.log('no Docker daemon answering: asserted the no-daemon path instead');
    return;
  }
  const tag = crypto.randomBytes(4).toString('hex');
  const imageName = `saas-probe-test:${tag}`;
  const progress = await docker.importImage(sleepImageTar(), { repo: 'saas-probe-test', tag });
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(progress, (err: Error | null) => (err ? reject(err) : resolve())));
  const container = await docker.createContainer({
    Image: imageName,
    name: `saas-probe-test-${tag}`,
    Cmd: ['/bin/sleep', '300'],
    Labels: { 'io.kubernetes.pod.uid': `pod-${tag}`, 'saas.test': 'probe' },
    HostConfig: { NetworkMode: 'none' },
  });
  t.teardown(async () => {
    await container.remove({ force: true }).catch(() => undefined);
    await docker.getImage(imageName).remove({ force: true }).catch(() => undefined);
  });
  await container.start();
  const exec = await container.exec({ Cmd: ['/bin/sleep', '299'] });
  const started = await exec.start({ Detach: true });
  started.destroy(); // detached: the response stream carries nothing, and would keep this process alive
  const info = await container.inspect();
  const imageID = info.Image.replace(/^sha256:/, '');
  const execPid = await (async () => {
    for (let i = 0; i < 100; i++) {
      const e = await exec.inspect();
      if (e.Pid) return e.Pid;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('exec never started');
  })();

  const { scanner: s } = scanner(undefined);
  t.true(s.dockerEnabled);
  const { report, stats } = await s.scan();
  t.true(stats.containers >= 1);

  const cNode = report.topologies.Container!.nodes[`${info.Id};<container>`];
  t.truthy(cNode, 'container node <id>;<container>');
  t.is(cNode!.topology, 'container');
  t.is(cNode!.latest.docker_container_id?.value, info.Id);
  t.is(cNode!.latest.docker_container_name?.value, `saas-probe-test-${tag}`);
  t.is(cNode!.latest.docker_container_state?.value, 'running');
  t.regex(cNode!.latest.docker_container_state_human?.value ?? '', /^Up /);
  t.is(cNode!.latest.docker_image_id?.value, imageID);
  t.is(cNode!.latest.docker_container_command?.value, '/bin/sleep 300');
  t.is(cNode!.latest['docker_label_saas.test']?.value, 'probe');
  t.deepEqual(cNode!.parents.container_image, [`${imageID};<container_image>`]);
  t.deepEqual(cNode!.parents.pod, [`pod-${tag};<pod>`]);
  t.deepEqual(cNode!.parents.host, [`${hostName};<host>`]);

  const iNode = report.topologies.ContainerImage!.nodes[`${imageID};<container_image>`];
  t.truthy(iNode, 'image node <imageID>;<container_image>');
  t.is(iNode!.latest.docker_image_name?.value, imageName);
  t.is(iNode!.latest.docker_image_tag?.value, tag);

  const init = report.topologies.Process!.nodes[`${hostName};${info.State.Pid}`];
  t.truthy(init, "the container's init process");
  t.is(init!.latest.name?.value, '/bin/sleep');
  t.deepEqual(init!.parents.container, [`${info.Id};<container>`]);
  t.deepEqual(init!.parents.container_image, [`${imageID};<container_image>`]);
  t.is(init!.latest.docker_container_id?.value, info.Id);

  const memory = cNode!.metrics.docker_memory_usage;
  t.truthy(memory, 'container memory: the RSS of its processes');
  t.true(memory!.samples[0]!.value >= Number(init!.metrics.process_memory_usage_bytes!.samples[0]!.value));

  const execd = report.topologies.Process!.nodes[`${hostName};${execPid}`];
  t.truthy(execd, 'the exec’d process (its parent is the runtime shim, so only its cgroup ties it to the container)');
  t.deepEqual(execd!.parents.container, [`${info.Id};<container>`]);

  const self = report.topologies.Process!.nodes[`${hostName};${process.pid}`];
  t.is(self!.parents.container, undefined, 'host processes have no container');
});
