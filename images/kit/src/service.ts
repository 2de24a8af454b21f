import type { FastifyInstance } from 'fastify';
import { port, str, type ConfigOf, type ConfigSpec } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { readConfigOrExit, stopOnSignals } from './process.ts';

export interface StartedService {
  app: FastifyInstance;
  setReady?: (ready: boolean) => void;
  /** Releases what the service holds (pools, timers, children) after the server stopped taking requests. */
  close?: () => Promise<void>;
}

export interface ServiceDefinition<S extends ConfigSpec> {
  name: string;
  config: S;
  start: (ctx: { config: ConfigOf<S>; log: Logger }) => Promise<StartedService>;
  /** How long a graceful stop may take before the process exits anyway. */
  shutdownTimeoutMs?: number;
}

const listenSpec = {
  port: port('PORT', { default: 8080, doc: 'the port to listen on' }),
  host: str('HOST', { default: '0.0.0.0', doc: 'the address to listen on' }),
};

/**
 * Starts a service process: reads and validates its configuration, listens, and on SIGTERM or SIGINT
 * stops taking requests, finishes those in flight, releases resources and exits 0.
 */
export async function runService<S extends ConfigSpec>(def: ServiceDefinition<S>): Promise<void> {
  const log = createLogger(def.name);
  const listen = readConfigOrExit(def.name, listenSpec, log);
  const config = readConfigOrExit(def.name, def.config, log);

  let started: StartedService;
  try {
    started = await def.start({ config, log });
    await started.app.listen({ port: listen.port, host: listen.host });
  } catch (err) {
    log.fatal({ err }, `${def.name} failed to start: ${(err as Error).message}`);
    process.exit(1);
  }

  stopOnSignals(log, async () => {
    started.setReady?.(false);
    await started.app.close();
    await started.close?.();
  }, def.shutdownTimeoutMs);
}
