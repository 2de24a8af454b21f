import v8 from 'node:v8';

// PostgreSQL's WebAssembly compiled by V8's baseline compiler only: measured here, 30 MB less RSS per
// stand-in and queries 4–5× faster on a busy 2-core machine, where tiering up burns the CPU the queries need.
// Imported first, so it is set before PGlite compiles anything.
v8.setFlagsFromString('--liftoff-only');
