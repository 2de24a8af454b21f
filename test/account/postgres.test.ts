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

test(`${accountFlowTitle} (PostgreSQL)`, (t) => accountFlow(t, 'postgres', mail));
test(`${privateTitle} (PostgreSQL)`, (t) => privateNeverReachesUsers(t, 'postgres', mail));
