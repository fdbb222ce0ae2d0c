import { addressParts, streetOf } from '../../src/representatives/lookup';

describe('addressParts', () => {
  it.each([
    ['12 Main St, Oakland, CA 94612', { zip: '94612', city: 'Oakland' }],
    ['1 Main St, Denver, CO 80202-1234', { zip: '80202', city: 'Denver' }],
    ['1 Main St, Denver CO 80202', { zip: '80202', city: 'Denver' }],
    ['94612', { zip: '94612', city: undefined }],
    ['Main St 94612', { zip: '94612', city: undefined }],
  ])('reads the ZIP and city of %j', (address, expected) => {
    expect(addressParts(address)).toEqual(expected);
  });

  it('never takes a house number for the ZIP', () => {
    expect(addressParts('80010 Elm Street, Springfield, IL')).toEqual({});
    expect(addressParts('80010 Elm Street')).toEqual({});
  });

  it('reads long, odd input in one pass', () => {
    // Each of these once made a backtracking pattern take about a second.
    for (const address of [
      `80010,${' '.repeat(193)}!`,
      `${' '.repeat(190)}1111111111`,
      `a,${' ,'.repeat(98)}`,
    ]) {
      expect(addressParts(address)).toEqual({});
    }
  });
});

describe('streetOf', () => {
  it.each([
    ['12 Main St, Oakland, CA 94612', '12 Main St'],
    ['200 Main St, Apt 2, Springfield, IL 62701', '200 Main St, Apt 2'],
    ['1 Main St, Denver CO 80202-1234', '1 Main St'],
    ['12 Elm Street, Aurora, CO 80010', '12 Elm Street'],
    // Not a recognisable US tail: the address as given.
    ['12 Elm Street', '12 Elm Street'],
    ['80010 Elm Street, Springfield, IL', '80010 Elm Street, Springfield, IL'],
    ['Springfield, IL 62701', 'Springfield, IL 62701'],
  ])('reads the street line of %j', (address, street) => {
    expect(streetOf(address)).toBe(street);
  });
});
