/**
 * What `dev down` and the local runtime may use of app-mapper (`@saas/app-mapper/reaper`): the process
 * provisioner's pid records, and stopping every app they name when app-mapper itself may be gone.
 */
export { killRecordedApps, readRecords, runningRecordedApps, type ReapResult } from './provisioners/process-reaper.ts';
export type { AppRecord } from '@saas/kit/contracts';
