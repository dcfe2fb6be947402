import assert from 'node:assert/strict';
import { bounceClassLabel, describeBounceClasses, describeObservedBatch } from '../../src/domain/explanations';
import { BOUNCE_CLASSES } from '../../src/domain/events';

describe('audit sentences', () => {
  const lastHour = { sent: 40, hardBounces: 3, failures: 0 };

  it('reads as before when the batch carries no classes', () => {
    assert.equal(
      describeObservedBatch('sam@acme-mail.com', { HardBounce: 1 }, lastHour),
      'Recorded 1 hard bounce for mailbox sam@acme-mail.com; last hour: 40 sends, 3 hard bounces, 0 delivery failures (7.5% hard-bounce rate); no action taken.',
    );
  });

  it('names what the bounces and failures were, the receiver refusing the sender first', () => {
    const sentence = describeObservedBatch(
      'sam@acme-mail.com',
      { HardBounce: 1, DeliveryFailure: 3 },
      { sent: 40, hardBounces: 3, failures: 5, reputationBlocks: 2 },
      { list_quality: 1, reputation: 2, transient: 1 },
    );
    assert.equal(
      sentence,
      'Recorded 1 hard bounce, 3 delivery failures for mailbox sam@acme-mail.com — 2 reputation blocks (the receiver refuses this sender), 1 bad address (the recipient does not exist: the list’s fault, not the sender’s), 1 temporary deferral (the receiver asked to try again later); last hour: 40 sends, 3 hard bounces, 5 delivery failures, 2 of them reputation blocks (7.5% hard-bounce rate); no action taken.',
    );
  });

  it('gives every class a label of its own', () => {
    const labels = BOUNCE_CLASSES.map(bounceClassLabel);
    assert.equal(new Set(labels).size, BOUNCE_CLASSES.length);
    assert.equal(bounceClassLabel('reputation'), 'reputation block (the receiver refuses this sender)');
    assert.equal(bounceClassLabel('account'), 'sending-account failure (the mailbox itself cannot send)');
    assert.equal(describeBounceClasses({ unknown: 0 }), '');
  });
});
