/**
 * US states, DC and the territories: Census FIPS code, USPS code, name, and whether it is a state. The district files
 * name states by FIPS code, the officials files by USPS code.
 */
const STATES: ReadonlyArray<
  readonly [fips: string, usps: string, name: string, kind: 'state' | 'other']
> = [
  ['01', 'AL', 'Alabama', 'state'],
  ['02', 'AK', 'Alaska', 'state'],
  ['04', 'AZ', 'Arizona', 'state'],
  ['05', 'AR', 'Arkansas', 'state'],
  ['06', 'CA', 'California', 'state'],
  ['08', 'CO', 'Colorado', 'state'],
  ['09', 'CT', 'Connecticut', 'state'],
  ['10', 'DE', 'Delaware', 'state'],
  ['11', 'DC', 'District of Columbia', 'other'],
  ['12', 'FL', 'Florida', 'state'],
  ['13', 'GA', 'Georgia', 'state'],
  ['15', 'HI', 'Hawaii', 'state'],
  ['16', 'ID', 'Idaho', 'state'],
  ['17', 'IL', 'Illinois', 'state'],
  ['18', 'IN', 'Indiana', 'state'],
  ['19', 'IA', 'Iowa', 'state'],
  ['20', 'KS', 'Kansas', 'state'],
  ['21', 'KY', 'Kentucky', 'state'],
  ['22', 'LA', 'Louisiana', 'state'],
  ['23', 'ME', 'Maine', 'state'],
  ['24', 'MD', 'Maryland', 'state'],
  ['25', 'MA', 'Massachusetts', 'state'],
  ['26', 'MI', 'Michigan', 'state'],
  ['27', 'MN', 'Minnesota', 'state'],
  ['28', 'MS', 'Mississippi', 'state'],
  ['29', 'MO', 'Missouri', 'state'],
  ['30', 'MT', 'Montana', 'state'],
  ['31', 'NE', 'Nebraska', 'state'],
  ['32', 'NV', 'Nevada', 'state'],
  ['33', 'NH', 'New Hampshire', 'state'],
  ['34', 'NJ', 'New Jersey', 'state'],
  ['35', 'NM', 'New Mexico', 'state'],
  ['36', 'NY', 'New York', 'state'],
  ['37', 'NC', 'North Carolina', 'state'],
  ['38', 'ND', 'North Dakota', 'state'],
  ['39', 'OH', 'Ohio', 'state'],
  ['40', 'OK', 'Oklahoma', 'state'],
  ['41', 'OR', 'Oregon', 'state'],
  ['42', 'PA', 'Pennsylvania', 'state'],
  ['44', 'RI', 'Rhode Island', 'state'],
  ['45', 'SC', 'South Carolina', 'state'],
  ['46', 'SD', 'South Dakota', 'state'],
  ['47', 'TN', 'Tennessee', 'state'],
  ['48', 'TX', 'Texas', 'state'],
  ['49', 'UT', 'Utah', 'state'],
  ['50', 'VT', 'Vermont', 'state'],
  ['51', 'VA', 'Virginia', 'state'],
  ['53', 'WA', 'Washington', 'state'],
  ['54', 'WV', 'West Virginia', 'state'],
  ['55', 'WI', 'Wisconsin', 'state'],
  ['56', 'WY', 'Wyoming', 'state'],
  ['60', 'AS', 'American Samoa', 'other'],
  ['66', 'GU', 'Guam', 'other'],
  ['69', 'MP', 'Northern Mariana Islands', 'other'],
  ['72', 'PR', 'Puerto Rico', 'other'],
  ['78', 'VI', 'Virgin Islands', 'other'],
];

export const uspsByFips: ReadonlyMap<string, string> = new Map(
  STATES.map(([fips, usps]) => [fips, usps]),
);
export const fipsByUsps: ReadonlyMap<string, string> = new Map(
  STATES.map(([fips, usps]) => [usps, fips]),
);
export const stateNames: ReadonlyMap<string, string> = new Map(
  STATES.map(([, usps, name]) => [usps, name]),
);

export const isStateCode = (code: string): boolean => stateNames.has(code);

/** The fifty states: each has two senators, a governor and (but Nebraska) two legislative chambers. */
export const fiftyStates: ReadonlySet<string> = new Set(
  STATES.filter(([, , , kind]) => kind === 'state').map(([, usps]) => usps),
);

/**
 * The House seat a congressional district GEOID names, as the officials' files number it: the
 * Census's `00` (at-large) and `98` (a delegate's seat) are seat 0 there; `0612` is seat 12.
 */
export const houseSeatOf = (geoid: string): number => {
  const code = geoid.slice(2);
  return code === '00' || code === '98' ? 0 : Number(code);
};
