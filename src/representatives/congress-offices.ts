import { isStateCode } from './us-states';

/**
 * The office codes Communicating with Congress (CWC) addresses members by, worked out from the
 * congress-legislators data:
 * - a House office is `H` + the USPS state code + the district in two digits, `00` for an at-large
 *   seat or a delegate's (`HCA12`, `HAK00`, `HDC00`);
 * - a Senate office is `S` + the USPS state code + the senator's class less one, in two digits
 *   (`SCA00` for a class I senator, `SCA01` for class II, `SCA02` for class III). The class is the
 *   `class` of the senator's current term; it is fixed to the seat, so a successor in the seat keeps
 *   the code (seniority, `state_rank`, changes with elections and is not used).
 */

export function houseOfficeCode(state: string, district: number): string {
  const code = state.trim().toUpperCase();
  if (!isStateCode(code)) throw new RangeError('houseOfficeCode: not a USPS state code');
  if (!Number.isInteger(district) || district < 0 || district > 99)
    throw new RangeError('houseOfficeCode: district must be 0 to 99');
  return `H${code}${String(district).padStart(2, '0')}`;
}

export function senateOfficeCode(state: string, senateClass: number): string {
  const code = state.trim().toUpperCase();
  if (!isStateCode(code)) throw new RangeError('senateOfficeCode: not a USPS state code');
  if (senateClass !== 1 && senateClass !== 2 && senateClass !== 3)
    throw new RangeError('senateOfficeCode: the class must be 1, 2 or 3');
  return `S${code}${String(senateClass - 1).padStart(2, '0')}`;
}
