import test from 'ava';
import { startMaildev, type Maildev } from '@saas/kit/testing';
import { accountFlow, accountFlowTitle, privateNeverReachesUsers, privateTitle } from './flows.ts';

let mail: Maildev;
test.before(async () => {
  mail = await startMaildev();
});
test.after.always(async () => {
  await mail?.stop();
});

// One PGlite stack at a time: each runs inside this process (see flows.ts).
test.serial(`${accountFlowTitle} (PGlite)`, (t) => accountFlow(t, 'pglite', mail));
test.serial(`${privateTitle} (PGlite)`, (t) => privateNeverReachesUsers(t, 'pglite', mail));
