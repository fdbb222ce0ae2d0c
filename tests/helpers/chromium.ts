/** Debian's Chromium (`apt-get install chromium`, done by .ci/run); never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, and quiet: no first-run screens, no calls home, no shared memory a container lacks. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
