export * from './config.ts';
export * from './log.ts';
export * from './errors.ts';
export * from './http.ts';
export * from './service.ts';
export * from './process.ts';
export * from './db.ts';
export { writeRawError } from './raw-answer.ts';
export { handshakeHeaders, UpgradeProxy, type UpgradeHooks, type UpgradeTarget } from './upgrade-proxy.ts';
