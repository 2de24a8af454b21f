/** How every service process starts and ends: a bad configuration exits 78, a signal stops it once. */
import { ConfigError, readConfig, type ConfigOf, type ConfigSpec } from './config.ts';
import type { Logger } from './log.ts';

/** EX_CONFIG: what a supervisor reads as "fix the settings", not "restart me". */
export const EXIT_CONFIG = 78;

/** The configuration, or exit 78 saying on stderr (and in the log, when there is one) what is wrong. */
export function readConfigOrExit<S extends ConfigSpec>(name: string, spec: S, log?: Logger, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  try {
    return readConfig(spec, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log?.fatal({ problems: err.problems }, `${name}: ${err.message}`);
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}

export interface SignalStop {
  /** True once a signal started the stop. */
  readonly stopping: boolean;
}

/**
 * On the first SIGTERM or SIGINT: runs stop, then exits 0; exits 1 when stop throws or takes longer than
 * timeoutMs. Later signals are ignored while it stops.
 */
export function stopOnSignals(log: Logger, stop: () => Promise<void>, timeoutMs = 8000): SignalStop {
  const state = { stopping: false };
  const onSignal = async (signal: string): Promise<void> => {
    if (state.stopping) return;
    state.stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    try {
      await stop();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
  process.on('SIGINT', () => void onSignal('SIGINT'));
  return state;
}
