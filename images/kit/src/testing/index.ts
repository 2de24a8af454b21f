export * from './ports.ts';
export * from './postgres.ts';
export * from './maildev.ts';
