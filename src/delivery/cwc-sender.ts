import type { Config } from '../config';
import { streetOf } from '../representatives/lookup';
import { CwcChannel, cwcDeliveryId, splitName } from './cwc';
import type { DeliveryContext } from './deliver';

/**
 * Sends a letter as a CWC document to its chamber's CWC (House offices' codes start with H, Senate
 * offices' with S), when that chamber's CWC is configured.
 */
export function cwcSender(settings: Config['delivery']['cwc']): DeliveryContext['cwc'] {
  if (!settings) return undefined;
  return (letter, options) => {
    const chamber = letter.channelAddress?.startsWith('S') ? settings.senate : settings.house;
    if (!chamber)
      return Promise.resolve({
        outcome: 'failed',
        error: `CWC for the ${letter.channelAddress?.startsWith('S') ? 'Senate' : 'House'} is no longer configured`,
      });
    const channel = new CwcChannel({
      url: chamber.url,
      apiKey: chamber.apiKey,
      organization: settings.organization,
      campaignId: letter.campaignSlug,
      deliveryAgent: {
        name: settings.organization,
        email: settings.contactEmail,
        phone: settings.contactPhone,
        ackEmail: settings.contactEmail,
      },
    });
    const { firstName, lastName } = splitName(letter.supporter.name);
    return channel.send(
      {
        deliveryId: cwcDeliveryId(letter.idempotencyKey),
        date: new Date(),
        office: letter.channelAddress ?? '',
        constituent: {
          prefix: letter.supporter.prefix ?? undefined,
          firstName,
          lastName,
          // The street line alone: the city, state and ZIP have elements of their own.
          address1: letter.supporter.address ? streetOf(letter.supporter.address) : '',
          city: letter.supporter.city ?? '',
          state: letter.supporter.state ?? '',
          zip: letter.supporter.zip,
          email: letter.supporter.email,
        },
        subject: letter.subject,
        message: letter.body,
      },
      options,
    );
  };
}
