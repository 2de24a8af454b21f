import test from 'ava';
import { parse } from 'yaml';
import { clusterName, clusterNameProblem, fullReference, kindConfig, kindConfigProblems, NODE_IMAGE, renderConfig } from '../../cluster/kind/index.ts';

test('the generated config passes kind’s v1alpha4 checker after a YAML round trip', (t) => {
  const config = parse(renderConfig(kindConfig({ nodePort: 30080, hostPort: 4046 })));
  t.deepEqual(kindConfigProblems(config), []);
  t.is(config.nodes[0].image, NODE_IMAGE);
  t.regex(NODE_IMAGE, /^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
  t.deepEqual(config.nodes[0].extraPortMappings, [{ containerPort: 30080, hostPort: 4046, listenAddress: '127.0.0.1', protocol: 'TCP' }]);
});

test('a bad config is refused with the path of each problem', (t) => {
  const problems = kindConfigProblems({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha3', nodes: [{ role: 'master', extraPortMappings: [{ containerPort: 70000, hostPort: 'x', listenAdress: '127.0.0.1' }] }] });
  t.true(problems.some((p) => p.startsWith('config.apiVersion')));
  t.true(problems.some((p) => p.startsWith('config.nodes[0].role')));
  t.true(problems.some((p) => p.startsWith('config.nodes[0].extraPortMappings[0].containerPort')));
  t.true(problems.some((p) => p.startsWith('config.nodes[0].extraPortMappings[0].hostPort')));
  t.true(problems.some((p) => p.includes('listenAdress: unknown field')));
});

test('the cluster name is stable per checkout and valid for kind', (t) => {
  t.is(clusterName('/work/a'), clusterName('/work/a/'));
  t.not(clusterName('/work/a'), clusterName('/work/b'));
  t.regex(clusterName('/work/a'), /^dev-[0-9a-f]{8}$/);
  t.is(clusterNameProblem(clusterName('/work/a')), undefined);
  t.truthy(clusterNameProblem('Dev_1'));
  t.truthy(clusterNameProblem('-dev'));
  t.truthy(clusterNameProblem('d'.repeat(60)));
});

test('docker short names are spelled as the kubelet reports them', (t) => {
  t.is(fullReference('users:1'), 'docker.io/library/users:1');
  t.is(fullReference('scope-saas/users:abc'), 'docker.io/scope-saas/users:abc');
  t.is(fullReference('localhost:5000/x'), 'localhost:5000/x:latest');
});
