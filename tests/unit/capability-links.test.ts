import {
  emailKey,
  openLink,
  parseUnsubscribeSubject,
  sealLink,
  unsubscribeSubject,
} from '../../src/privacy/links';

const SECRET = 'unit-secret-unit-secret-unit-secret-0123';

describe('capability links', () => {
  it('open for their purpose and name their subject', () => {
    const token = sealLink(SECRET, 'verify', '1234');
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(openLink(SECRET, 'verify', token)).toEqual({ ok: true, subject: '1234' });
  });

  it('are refused for another purpose, with another secret, or altered in any character', () => {
    const token = sealLink(SECRET, 'verify', '1234');
    expect(openLink(SECRET, 'not-me', token)).toEqual({ ok: false, reason: 'invalid' });
    expect(openLink(`${SECRET}x`, 'verify', token)).toEqual({ ok: false, reason: 'invalid' });
    for (let i = 0; i < token.length; i++) {
      const altered = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
      expect(openLink(SECRET, 'verify', altered).ok).toBe(false);
    }
    for (const junk of ['', 'abc', 'x'.repeat(800), `${token}/../x`, token.slice(0, -2)])
      expect(openLink(SECRET, 'verify', junk).ok).toBe(false);
  });

  it('expire: verification after 7 days, "your data" after 24 hours; unsubscribe never', () => {
    const now = Date.UTC(2026, 0, 1);
    const verify = sealLink(SECRET, 'verify', '7', now);
    expect(openLink(SECRET, 'verify', verify, now + 7 * 86_400_000 - 1000).ok).toBe(true);
    expect(openLink(SECRET, 'verify', verify, now + 7 * 86_400_000 + 1000)).toEqual({
      ok: false,
      reason: 'expired',
      subject: '7',
    });
    const data = sealLink(SECRET, 'my-data', 'ida@example.org', now);
    expect(openLink(SECRET, 'my-data', data, now + 23 * 3600_000).ok).toBe(true);
    expect(openLink(SECRET, 'my-data', data, now + 25 * 3600_000)).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    const unsubscribe = sealLink(
      SECRET,
      'unsubscribe',
      unsubscribeSubject('ida@example.org', 3),
      now,
    );
    expect(openLink(SECRET, 'unsubscribe', unsubscribe, now + 10 * 365 * 86_400_000)).toEqual({
      ok: true,
      subject: '3:ida@example.org',
    });
  });

  it('do not show an email address they carry', () => {
    const token = sealLink(SECRET, 'my-data', 'ida.wells@example.org');
    expect(Buffer.from(token, 'base64url').toString('latin1')).not.toContain('ida');
    expect(token).not.toContain('ida');
  });

  it('unsubscribe subjects name one campaign or all of them', () => {
    expect(parseUnsubscribeSubject(unsubscribeSubject('a:b@example.org', 12))).toEqual({
      email: 'a:b@example.org',
      campaignId: 12,
    });
    expect(parseUnsubscribeSubject(unsubscribeSubject('a@example.org', null))).toEqual({
      email: 'a@example.org',
      campaignId: null,
    });
    expect(parseUnsubscribeSubject('nonsense')).toBeNull();
  });

  it('email keys are stable per secret and name nobody', () => {
    expect(emailKey(SECRET, 'ida@example.org')).toBe(emailKey(SECRET, 'ida@example.org'));
    expect(emailKey(SECRET, 'ida@example.org')).not.toBe(emailKey(`${SECRET}x`, 'ida@example.org'));
    expect(emailKey(SECRET, 'ida@example.org')).not.toContain('ida');
  });
});
