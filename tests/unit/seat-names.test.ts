import { seatName } from '../../src/stances/office-counts';
import { houseSeatOf } from '../../src/representatives/us-states';

describe("an office's seat, as the per-office counts name it", () => {
  it.each([
    ['us-house', 'CO', '2', 'CO-2'],
    ['us-house', 'AK', '0', 'AK at-large'],
    ['us-house', 'DC', '0', 'DC (delegate seat)'],
    ['us-house', 'PR', '0', 'PR (delegate seat)'],
    ['us-senate', 'CO', null, 'CO'],
    ['governor', 'CO', null, 'CO'],
    ['state-upper', 'CO', '7', 'CO senate district 7'],
    ['state-upper', 'NE', '5', 'NE legislative district 5'],
    ['state-upper', 'DC', 'Ward 1', 'DC council (Ward 1)'],
    ['state-lower', 'MA', '8th Suffolk', 'MA house district 8th Suffolk'],
  ] as const)('%s in %s, seat %s: %s', (office, state, district, expected) => {
    expect(seatName(office, state, district)).toBe(expected);
  });

  it('numbers House seats as the officials files do', () => {
    expect([houseSeatOf('0612'), houseSeatOf('0200'), houseSeatOf('1198')]).toEqual([12, 0, 0]);
  });
});
