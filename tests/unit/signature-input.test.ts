import {
  honeypotFilled,
  signatureInput,
  sourceFromQuery,
} from '../../src/petitions/signature-input';
import { fieldErrors } from '../../src/kernel/field-errors';

describe('signatureInput', () => {
  it('normalises what a supporter types', () => {
    const parsed = signatureInput.parse({
      name: '  Ida B. Wells ',
      email: ' IDA@Example.ORG ',
      zip: ' 60614-1234 ',
      address: '  ',
      optIn: 'on',
      source: ' Partner-X ',
    });
    expect(parsed).toEqual({
      name: 'Ida B. Wells',
      email: 'ida@example.org',
      zip: '60614',
      address: undefined,
      optIn: true,
      partnerOptIn: false,
      source: 'partner-x',
    });
  });

  it('accepts names in any script and with apostrophes', () => {
    for (const name of ["Zoë O'Brien", 'José Martí', '李小龍', 'Nguyễn Thị Minh Khai']) {
      expect(signatureInput.safeParse({ name, email: 'a@example.org', zip: '10001' }).success).toBe(
        true,
      );
    }
  });

  it('gives one message per field', () => {
    const result = signatureInput.safeParse({ name: '', email: 'x', zip: '1' });
    expect(result.success).toBe(false);
    expect(fieldErrors(result.error!)).toEqual({
      name: 'Please enter your name.',
      email: 'Please enter a valid email address, like name@example.org.',
      zip: 'Please enter a 5-digit ZIP code.',
    });
  });

  it('spots a filled honeypot', () => {
    expect(honeypotFilled({ website: 'x' })).toBe(true);
    expect(honeypotFilled({ website: '' })).toBe(false);
    expect(honeypotFilled({})).toBe(false);
    expect(honeypotFilled('string')).toBe(false);
  });

  it('keeps a source from a link only when it is a valid code', () => {
    expect(sourceFromQuery('Partner_1')).toBe('partner_1');
    expect(sourceFromQuery('"><script>')).toBeUndefined();
    expect(sourceFromQuery(['a', 'b'])).toBeUndefined();
  });
});
