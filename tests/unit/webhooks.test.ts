import { createHmac } from 'node:crypto';
import { parseFilter } from '../../src/osdi/filter';
import { splitName } from '../../src/osdi/resources';
import { tokenScopes } from '../../src/osdi/tokens';
import {
  checkReceiverUrl,
  isInternalAddress,
  OutboundRefusedError,
  sendOutbound,
} from '../../src/webhooks/outbound-http';
import { newWebhookSecret, signedHeaders, webhookSignature } from '../../src/webhooks/signing';
import { eventList } from '../../src/webhooks/subscriptions';

describe('Standard Webhooks signatures', () => {
  it("matches the scheme's published example", () => {
    // The example of the Standard Webhooks specification (and of its reference libraries).
    expect(
      webhookSignature(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it("signs id, timestamp and body, under the secret's bytes", () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const headers = signedHeaders(secret, 'msg_x', '[]', 1_700_000_000_123);
    expect(headers['webhook-timestamp']).toBe('1700000000');
    const expected = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
      .update('msg_x.1700000000.[]')
      .digest('base64');
    expect(headers['webhook-signature']).toBe(`v1,${expected}`);
    // Any change to the body changes the signature.
    expect(signedHeaders(secret, 'msg_x', '[ ]', 1_700_000_000_123)['webhook-signature']).not.toBe(
      headers['webhook-signature'],
    );
  });
});

describe('addresses the platform never sends to', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    'ff02::1',
  ])('%s is internal', (address) => expect(isInternalAddress(address)).toBe(true));

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    '%s is public',
    (address) => expect(isInternalAddress(address)).toBe(false),
  );

  it('refuses receiver URLs that are not https, hold credentials, or name a private host', () => {
    expect(checkReceiverUrl('https://crm.example.org/hooks', false)).toBeNull();
    expect(checkReceiverUrl('http://crm.example.org/hooks', false)).toMatch(/https/);
    expect(checkReceiverUrl('http://127.0.0.1:8080/hooks', true)).toBeNull();
    expect(checkReceiverUrl('https://u:p@crm.example.org/', false)).toMatch(
      /user name or password/,
    );
    for (const url of [
      'https://127.0.0.1/',
      'https://[::1]/',
      'https://localhost/',
      'https://api.localhost/',
      'https://10.0.0.5/',
      'https://[::ffff:192.168.0.1]/',
    ]) {
      expect(checkReceiverUrl(url, false)).toMatch(/public address/);
    }
    expect(checkReceiverUrl('ftp://crm.example.org', false)).toMatch(/https/);
    expect(checkReceiverUrl('not a url', false)).toMatch(/full URL/);
  });

  it('does not connect to a name that resolves to a loopback address, nor to a private literal', async () => {
    // `localhost` resolves here to 127.0.0.1 or ::1: refused after the look-up, before any connection.
    await expect(
      sendOutbound('https://localhost:9/hooks', {
        method: 'POST',
        headers: {},
        body: '[]',
        allowPrivate: false,
      }),
    ).rejects.toThrow(OutboundRefusedError);
    await expect(
      sendOutbound('https://127.0.0.1:9/hooks', {
        method: 'POST',
        headers: {},
        body: '[]',
        allowPrivate: false,
      }),
    ).rejects.toThrow(/private or local address/);
    await expect(
      sendOutbound('http://crm.example.org/hooks', {
        method: 'POST',
        headers: {},
        body: '[]',
        allowPrivate: false,
      }),
    ).rejects.toThrow(/only https/);
  });
});

describe('OSDI filters', () => {
  it('takes date conditions joined with and', () => {
    expect(parseFilter("modified_date gt '2026-12-01T00:00:00Z'")).toEqual({
      ok: true,
      conditions: [{ field: 'modified_date', op: 'gt', value: new Date('2026-12-01T00:00:00Z') }],
    });
    const both = parseFilter(
      "created_date ge '2026-01-01' and MODIFIED_DATE lt '2026-02-01T10:00:00-05:00'",
    );
    expect(both.ok && both.conditions.map((condition) => [condition.field, condition.op])).toEqual([
      ['created_date', 'ge'],
      ['modified_date', 'lt'],
    ]);
    expect(parseFilter(undefined)).toEqual({ ok: true, conditions: [] });
  });

  it.each([
    "email_address eq 'a@b.c'",
    "modified_date gt 'tomorrow'",
    'modified_date gt 2026-01-01',
    "modified_date gt '2026-13-45'",
    "modified_date gt '2026-01-01' or created_date gt '2026-01-01'",
    'x'.repeat(301),
  ])('refuses %s', (filter) => expect(parseFilter(filter).ok).toBe(false));
});

describe('form values', () => {
  it('reads scopes and events from a comma list or checkboxes, in a fixed order', () => {
    expect(tokenScopes.parse('sign,read')).toEqual(['read', 'sign']);
    expect(tokenScopes.parse(['read'])).toEqual(['read']);
    expect(tokenScopes.safeParse('').success).toBe(false);
    expect(tokenScopes.safeParse('admin').success).toBe(false);
    expect(eventList.parse('person.erased, signature')).toEqual(['signature', 'person.erased']);
    expect(eventList.safeParse(['signature', 'donation']).success).toBe(false);
  });

  it('splits a name into given and family names at its last word', () => {
    expect(splitName('Fannie Lou Hamer')).toEqual({
      given_name: 'Fannie Lou',
      family_name: 'Hamer',
    });
    expect(splitName(' Cher ')).toEqual({ given_name: 'Cher' });
  });
});
