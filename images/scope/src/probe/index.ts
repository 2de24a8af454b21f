/** What the engine and the CLI may use of the probe (`@saas/scope/probe`): start one in-process, and its types. */
export { startProbe, PROBE_VERSION, type ProbeEvent, type ProbeOptions, type RunningProbe } from './probe.ts';
