import type { CallReportInput } from '../../src/stances/store';

/**
 * A supporter's report of a call to Ada Testwell, the fixtures' House member for CO-1: talked to
 * staff, from CO-1, no state districts, unless `report` says otherwise.
 */
export const callToAda = (
  campaignId: number,
  report: Partial<CallReportInput> = {},
): CallReportInput => ({
  campaignId,
  targetKey: 'us-house:T000001',
  office: 'us-house',
  targetName: 'Ada Testwell',
  targetState: 'CO',
  targetDistrict: '1',
  outcome: 'talked',
  congressionalDistrict: '0801',
  stateUpperDistrict: null,
  stateLowerDistrict: null,
  ...report,
});
