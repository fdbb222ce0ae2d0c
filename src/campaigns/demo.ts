import type { Database } from '../db/client';
import { campaigns } from '../db/schema';

export const DEMO_CAMPAIGN_SLUG = 'ban-facial-recognition';

const demoCampaign = {
  slug: DEMO_CAMPAIGN_SLUG,
  title: 'Ban police use of facial recognition',
  summary:
    'Face surveillance lets police identify and track anyone who walks down a street, joins a protest ' +
    'or visits a clinic. It misidentifies people, most often people of colour, and has already led to ' +
    'wrongful arrests. Tell your lawmakers at every level to ban it.',
  petitionText: [
    'To our city councils, our state legislatures and the United States Congress:',
    'Police departments are using facial recognition to put names to faces captured by street cameras, ' +
      'body cameras, social media and driver licence photos. No one asked for our consent, no court ' +
      'reviews most of these searches, and the people searched are rarely told.',
    'The technology gets faces wrong, and it gets some faces wrong far more often than others. People ' +
      'have been arrested and jailed because software matched them to a crime they had nothing to do ' +
      'with. Even when it works as sold, it gives police a power no democracy should hand over: to ' +
      'follow anyone, anywhere, without a warrant and without their knowledge.',
    'Rules and audits cannot fix a tool built for mass identification. We call on you to ban the use ' +
      'of facial recognition by police and the agencies that share data with them:',
    '• Local officials: pass ordinances that forbid city agencies, including the police, from acquiring ' +
      'or using facial recognition, or from asking others to run searches for them.',
    '• State lawmakers: enact a statewide ban that covers every law-enforcement agency and the state ' +
      'databases of driver licence and ID photos.',
    '• Members of Congress: stop federal funding of police facial recognition and ban its use by ' +
      'federal agencies.',
    'Our faces are not evidence waiting to be collected. Protect everyone\'s right to move, speak and ' +
      'gather without being tracked.',
  ].join('\n\n'),
  goal: 100_000,
};

/** Creates the demo campaign on first start; leaves it alone when it exists (staff may edit it). */
export async function ensureDemoCampaign(db: Database): Promise<void> {
  await db.insert(campaigns).values(demoCampaign).onConflictDoNothing({ target: campaigns.slug });
}
