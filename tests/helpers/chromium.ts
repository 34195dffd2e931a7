import { ensureDebianTool } from './debian.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Debian's Chromium for browser tests (never a downloaded browser build). */
export const ensureChromium = () => ensureDebianTool(CHROMIUM, 'chromium');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
