import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  checkFormToken,
  formTokenKey,
  readFormToken,
  signFormToken,
  tokenForForm,
  type FormTokenPolicy,
} from '../../src/abuse/form-token';
import { ConfigError, loadConfig } from '../../src/config';

/** Embedded mode makes its keys under DATA_DIR: a directory of the test's own, not the project's `data/`. */
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-form-token-'));

const key = formTokenKey('test-secret-test-secret-test-secret-0123');
const NOW = Date.UTC(2026, 4, 1, 12, 0, 0);
const policy: FormTokenPolicy = { key, minFillSeconds: 3, maxAgeSeconds: 3600, now: () => NOW };

describe('form fill-time tokens', () => {
  it('accepts a token issued long enough ago, and says when', () => {
    const token = signFormToken(key, 'sign', NOW - 10_000);
    expect(checkFormToken(policy, 'sign', token)).toEqual({ ok: true, issuedAt: NOW - 10_000 });
    expect(checkFormToken(policy, 'sign', signFormToken(key, 'sign', NOW - 3000))).toMatchObject({
      ok: true,
    });
  });

  it('takes a form sent sooner than the minimum, or from the future, for a bot', () => {
    expect(checkFormToken(policy, 'sign', signFormToken(key, 'sign', NOW - 2999))).toEqual({
      ok: false,
      reason: 'too-fast',
    });
    expect(checkFormToken(policy, 'sign', signFormToken(key, 'sign', NOW + 60_000))).toEqual({
      ok: false,
      reason: 'too-fast',
    });
  });

  it('refuses an expired token', () => {
    expect(checkFormToken(policy, 'sign', signFormToken(key, 'sign', NOW - 3_600_001))).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('refuses a missing token and any token this key did not make for this form', () => {
    const good = signFormToken(key, 'sign', NOW - 10_000);
    const [version, stamp, mac] = good.split('.') as [string, string, string];
    expect(checkFormToken(policy, 'sign', undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(checkFormToken(policy, 'sign', '')).toEqual({ ok: false, reason: 'missing' });
    expect(checkFormToken(policy, 'sign', ['x'])).toEqual({ ok: false, reason: 'missing' });
    // An older time with the same MAC, a changed MAC, another form's token, another secret's, garbage.
    expect(
      checkFormToken(policy, 'sign', `${version}.${(NOW - 60_000).toString(36)}.${mac}`),
    ).toEqual({ ok: false, reason: 'forged' });
    expect(
      checkFormToken(
        policy,
        'sign',
        `${version}.${stamp}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
      ),
    ).toEqual({ ok: false, reason: 'forged' });
    expect(checkFormToken(policy, 'letters', good)).toEqual({ ok: false, reason: 'forged' });
    expect(
      checkFormToken(
        policy,
        'sign',
        signFormToken(formTokenKey('another-secret-another-secret-another'), 'sign', NOW - 10_000),
      ),
    ).toEqual({ ok: false, reason: 'forged' });
    expect(checkFormToken(policy, 'sign', 'v1.abc')).toEqual({ ok: false, reason: 'forged' });
    expect(readFormToken(key, 'sign', `v2.${stamp}.${mac}`)).toEqual({ reason: 'forged' });
  });

  it('keeps a genuine token on a form shown again, so a correction is not timed from zero', () => {
    const old = signFormToken(key, 'sign', NOW - 1000);
    expect(tokenForForm(policy, 'sign', old)).toBe(old);
    const fresh = signFormToken(key, 'sign', NOW);
    expect(tokenForForm(policy, 'sign', 'forged')).toBe(fresh);
    expect(tokenForForm(policy, 'sign', undefined)).toBe(fresh);
    expect(tokenForForm(policy, 'sign', signFormToken(key, 'sign', NOW - 3_600_001))).toBe(fresh);
  });
});

describe('abuse settings', () => {
  it('has per-email limits, a 3-second fill time and no CAPTCHA by default', () => {
    const config = loadConfig({ DATA_DIR: dataDir, APP_SECRET: 'x'.repeat(32) });
    expect(config.abuse).toEqual({
      emailRateLimit: { sign: 10, letters: 10, windowSeconds: 3600 },
      formMinFillSeconds: 3,
      formTokenMaxAgeSeconds: 86_400,
      captcha: undefined,
    });
  });

  it('needs both keys for a CAPTCHA provider', () => {
    expect(() =>
      loadConfig({
        DATA_DIR: dataDir,
        APP_SECRET: 'x'.repeat(32),
        CAPTCHA_PROVIDER: 'turnstile',
        CAPTCHA_SITE_KEY: 'site-key',
      }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ DATA_DIR: dataDir, APP_SECRET: 'x'.repeat(32), CAPTCHA_PROVIDER: 'recaptcha' }),
    ).toThrow(/CAPTCHA_PROVIDER/);
    const config = loadConfig({
      DATA_DIR: dataDir,
      APP_SECRET: 'x'.repeat(32),
      CAPTCHA_PROVIDER: 'hcaptcha',
      CAPTCHA_SITE_KEY: 'site-key',
      CAPTCHA_SECRET: '0x0000secret',
    });
    expect(config.abuse.captcha).toEqual({
      provider: 'hcaptcha',
      siteKey: 'site-key',
      secret: '0x0000secret',
      verifyUrl: undefined,
      timeoutMs: 3000,
    });
  });
});
