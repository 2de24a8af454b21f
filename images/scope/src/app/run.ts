/**
 * The Scope app alone, as an entry to bundle: images/scope/src/main.ts (either role, by SCOPE_ROLE) bundled
 * into one file carries the probe's Kubernetes and Docker clients too (~4.5 MB of code the app never runs,
 * ~17 MB of RSS once loaded: bench/scope-app-rss.ts, `bundle` against `app-bundle`).
 */
import { runApp } from './main.ts';

await runApp();
