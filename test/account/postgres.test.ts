import test from 'ava';
import { maildevForFile } from '../helpers/maildev.ts';
import { accountFlow, accountFlowTitle, privateNeverReachesUsers, privateTitle } from './flows.ts';

const mail = maildevForFile();

test(`${accountFlowTitle} (PostgreSQL)`, (t) => accountFlow(t, 'postgres', mail()));
test(`${privateTitle} (PostgreSQL)`, (t) => privateNeverReachesUsers(t, 'postgres', mail()));
