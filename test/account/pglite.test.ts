import test from 'ava';
import { maildevForFile } from '../helpers/maildev.ts';
import { accountFlow, accountFlowTitle, privateNeverReachesUsers, privateTitle } from './flows.ts';

const mail = maildevForFile();

// One PGlite stack at a time: each runs inside this process (see flows.ts).
test.serial(`${accountFlowTitle} (PGlite)`, (t) => accountFlow(t, 'pglite', mail()));
test.serial(`${privateTitle} (PGlite)`, (t) => privateNeverReachesUsers(t, 'pglite', mail()));
