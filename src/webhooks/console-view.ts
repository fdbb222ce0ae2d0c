import type { WebhookSubscription } from '../db/schema';
import type { SubscriptionView } from './subscriptions';

/** How the console shows subscriptions and their attempts (the admin's integrations page and a partner's page share it). */

/** A time as the console shows it; raw queries give timestamps as text, Drizzle's selects as dates. */
export const consoleTime = (date: Date | string | null | undefined) =>
  date ? `${new Date(date).toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';

const EVENT_LABELS: Record<string, string> = {
  signature: 'signatures',
  outreach: 'letters (outreaches)',
  'person.erased': 'erasures',
};

/** Where Action Network's petition is, from its record signature helper URL. */
const petitionOf = (url: string) => /\/petitions\/([^/]+)\/signatures$/.exec(url)?.[1] ?? url;

export function subscriptionRow(subscription: SubscriptionView, logUrl: string) {
  const actionNetwork = subscription.kind === 'action-network';
  return {
    id: subscription.id,
    actionNetwork,
    target: actionNetwork
      ? `Action Network petition ${decodeURIComponent(petitionOf(subscription.url))}`
      : subscription.url,
    partner: subscription.partnerName ?? 'the whole campaign',
    events: subscription.events.map((event) => EVENT_LABELS[event] ?? event).join(', '),
    tags: subscription.tags.join(', '),
    active: subscription.status === 'active',
    statusLabel:
      subscription.status === 'active' ? (subscription.failingSince ? 'failing' : 'on') : 'off',
    disabledReason: subscription.disabledReason,
    lastAttempt: consoleTime(subscription.lastAttemptAt),
    lastStatus: subscription.lastStatus,
    lastError: subscription.lastError,
    lastSuccess: consoleTime(subscription.lastSuccessAt),
    nextRetry:
      subscription.status === 'active' && subscription.nextAttemptAt
        ? consoleTime(subscription.nextAttemptAt)
        : '',
    failingSince: consoleTime(subscription.failingSince),
    waiting: subscription.waiting,
    logUrl,
  };
}

export function attemptRows(
  attempts: Array<{
    startedAt: Date;
    messageId: string;
    items: number;
    status: number | null;
    outcome: string;
    error: string | null;
    durationMs: number;
  }>,
) {
  return attempts.map((attempt) => ({
    at: consoleTime(attempt.startedAt),
    messageId: attempt.messageId,
    items: attempt.items,
    status: attempt.status ?? 'no answer',
    outcome: attempt.outcome,
    error: attempt.error,
    duration: `${(attempt.durationMs / 1000).toFixed(2)} s`,
  }));
}

export const subscriptionTitle = (subscription: Pick<WebhookSubscription, 'kind' | 'url'>) =>
  subscription.kind === 'action-network'
    ? `Action Network petition ${decodeURIComponent(petitionOf(subscription.url))}`
    : subscription.url;
