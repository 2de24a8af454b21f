import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless. The network flags matter here: without them Chromium keeps dialling out
 * (updates, sync), and this machine's closed network refuses each attempt.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export const launchChromium = (): Promise<Browser> => chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 60_000 });
