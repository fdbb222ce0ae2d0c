import { stateForZip } from '../../src/petitions/zip-state';

describe('stateForZip', () => {
  it.each([
    ['94110', 'CA'],
    ['10001', 'NY'],
    ['00501', 'NY'],
    ['60614', 'IL'],
    ['02139', 'MA'],
    ['20500', 'DC'],
    ['73301', 'TX'],
    ['73102', 'OK'],
    ['99501', 'AK'],
    ['96813', 'HI'],
    ['00901', 'PR'],
    ['00802', 'VI'],
    ['96799', 'AS'],
    ['96950', 'MP'],
    ['96910', 'GU'],
    ['05501', 'MA'],
    ['05401', 'VT'],
    ['88510', 'TX'],
    ['89501', 'NV'],
    ['98101', 'WA'],
    ['39530', 'MS'],
    ['39901', 'GA'],
    ['20901', 'MD'],
    ['22201', 'VA'],
  ])('%s is in %s', (zip, state) => {
    expect(stateForZip(zip)).toBe(state);
  });

  it('gives no state for military and unassigned prefixes or malformed input', () => {
    for (const zip of ['09001', '34001', '96201', '00001', 'abcde', ''])
      expect(stateForZip(zip)).toBeUndefined();
  });
});
