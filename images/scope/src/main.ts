/**
 * The scope image's entry: SCOPE_ROLE=app runs the Scope app (reports in, map out), SCOPE_ROLE=probe the
 * probe that reports this host to an app.
 */
const role = process.env.SCOPE_ROLE ?? 'app';

if (role === 'app') {
  const { runApp } = await import('./app/main.ts');
  await runApp();
} else if (role === 'probe') {
  const { runProbe } = await import('./probe/main.ts');
  await runProbe();
} else {
  process.stderr.write(`scope: SCOPE_ROLE must be app or probe, not ${JSON.stringify(role)}\n`);
  process.exit(78);
}
