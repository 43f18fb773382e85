import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's chromium (`apt-get install chromium`, .ci/run installs it) driven by
 * playwright-core: no browser is ever downloaded. Headless, no sandbox (tests may run as
 * root), and none of the background traffic a browser makes on its own.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
