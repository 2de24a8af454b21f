/** One real maildev for a whole test file, for the files whose every test shares it. */
import test from 'ava';
import { startMaildev, type Maildev } from '@saas/kit/testing';

export interface FileMaildev {
  /** The running maildev, in tests (every before hook has finished by then). */
  (): Maildev;
  /** Starts it if no hook has yet: the file's own before hooks run alongside this helper's, so they await this. */
  ready(): Promise<Maildev>;
}

/** Starts maildev before the file's tests and stops it after them. */
export function maildevForFile(): FileMaildev {
  let started: Promise<Maildev> | undefined;
  let running: Maildev | undefined;
  const ready = () =>
    (started ??= startMaildev().then((m) => {
      running = m;
      return m;
    }));
  test.before(() => ready());
  test.after.always(async () => {
    await running?.stop();
  });
  const mail = () => {
    if (!running) throw new Error('maildev is not running yet: in a before hook, await mail.ready()');
    return running;
  };
  return Object.assign(mail, { ready });
}
