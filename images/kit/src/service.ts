import type { FastifyInstance } from 'fastify';
import { ConfigError, readConfig, port, str, type ConfigOf, type ConfigSpec } from './config.ts';
import { createLogger, type Logger } from './log.ts';

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
  let config: ConfigOf<S>;
  let listen: ConfigOf<typeof listenSpec>;
  try {
    listen = readConfig(listenSpec);
    config = readConfig(def.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      log.fatal({ problems: err.problems }, `${def.name}: ${err.message}`);
      process.stderr.write(`${def.name}: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }

  let started: StartedService;
  try {
    started = await def.start({ config, log });
    await started.app.listen({ port: listen.port, host: listen.host });
  } catch (err) {
    log.fatal({ err }, `${def.name} failed to start: ${(err as Error).message}`);
    process.exit(1);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, def.shutdownTimeoutMs ?? 8000);
    timer.unref();
    try {
      started.setReady?.(false);
      await started.app.close();
      await started.close?.();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
