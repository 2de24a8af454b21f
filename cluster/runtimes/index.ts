/**
 * Picks a runtime by name. Every runtime runs the same manifests (docs/ARCHITECTURE.md §3); `local` is the embedded default.
 *
 * A runtime module other than `local` lives in cluster/runtimes/<name>/index.ts and exports
 * `createRuntime(options: RuntimeOptions): Runtime`. It is loaded on first use, so a runtime that is not
 * written yet (or whose dependencies are missing) only fails when someone picks it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isRuntimeName, runtimeNames, type Endpoints, type Runtime, type RuntimeName, type RuntimeOptions, type SystemStatus } from '../runtime.ts';
import { LocalRuntime } from './local/index.ts';

export type { RuntimeOptions };
export { isRuntimeName, runtimeNames };

interface RuntimeModule {
  createRuntime(options: RuntimeOptions): Runtime;
}

export function createRuntime(name: RuntimeName | string, options: RuntimeOptions): Runtime {
  if (!isRuntimeName(name)) throw new Error(`unknown runtime "${name}" (supported: ${runtimeNames.join(', ')})`);
  if (name === 'local') return new LocalRuntime(options);
  // Checked now, not on first use: `dev up --runtime kind` must fail before it remembers the runtime.
  const file = runtimeModule(name);
  if (!existsSync(file)) throw new Error(`the ${name} runtime is not built yet (no ${path.relative(options.projectDir, file)}); use --runtime local (the default) or --runtime docker`);
  return lazyRuntime(name, options);
}

const runtimeModule = (name: RuntimeName) => path.join(path.dirname(new URL(import.meta.url).pathname), name, 'index.ts');

/** A runtime whose module is imported on first call, so picking `local` never loads docker or Kubernetes code. */
function lazyRuntime(name: RuntimeName, options: RuntimeOptions): Runtime {
  let loaded: Promise<Runtime> | undefined;
  const load = (): Promise<Runtime> => {
    loaded ??= (async () => {
      const file = runtimeModule(name);
      const mod = (await import(pathToFileURL(file).href)) as Partial<RuntimeModule>;
      if (typeof mod.createRuntime !== 'function') throw new Error(`${file} does not export createRuntime(options)`);
      return mod.createRuntime(options);
    })();
    return loaded;
  };
  return {
    name,
    up: async (o) => (await load()).up(o),
    down: async (o) => (await load()).down(o),
    status: async (): Promise<SystemStatus> => (await load()).status(),
    logs: async (service, onLine, o) => (await load()).logs(service, onLine, o),
    endpoints: async (): Promise<Endpoints | null> => (await load()).endpoints(),
    restart: async (service) => (await load()).restart(service),
  };
}
