import assert from 'node:assert/strict';
import { classifyBounce } from '../../src/domain/bounceClass';
import type { BounceClass } from '../../src/domain/events';

/**
 * Diagnostics as receivers send them (IP addresses and names replaced by documentation ones). Each row: who sends it,
 * the text, and the class a person reading it would give.
 */
const REAL_WORLD: [string, string, BounceClass][] = [
  // The address is bad.
  ['Gmail, no such user', "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. Learn more at https://support.google.com/mail/?p=NoSuchUser", 'list_quality'],
  ['Gmail, disabled account', '550 5.2.1 The email account that you tried to reach is disabled.', 'list_quality'],
  ['Gmail, domain without mail server', "DNS Error: DNS type 'mx' lookup of prospect.example responded with code NXDOMAIN Domain name not found: prospect.example", 'list_quality'],
  ['Postfix, virtual mailbox table', '550 5.1.1 <lead@prospect.example>: Recipient address rejected: User unknown in virtual mailbox table', 'list_quality'],
  ['Postfix, domain not found', 'Host or domain name not found. Name service error for name=prospect.example type=A: Host not found', 'list_quality'],
  ['Exchange NDR, recipient not found', '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', 'list_quality'],
  ['Exchange NDR, non-existent domain', '550 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain', 'list_quality'],
  ['Exchange NDR, group that takes internal senders only', '550 5.7.1 RESOLVER.RST.AuthRequired; authentication required', 'list_quality'],
  ['Office 365, directory-based edge blocking', '550 5.4.1 Recipient address rejected: Access denied. AS(201806281)', 'list_quality'],
  ['Outlook.com, mailbox unavailable', '550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [BN8NAM12FT011.eop-nam12.prod.protection.outlook.com]', 'list_quality'],
  ["Yahoo, no such account", "554 delivery error: dd This user doesn't have a yahoo.com account (lead@yahoo.com) [0] - mta1234.mail.ne1.yahoo.com", 'list_quality'],
  ['Mimecast, invalid recipient', '550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550', 'list_quality'],
  ['Sendmail, no such user', '550 5.1.1 lead@prospect.example... No such user', 'list_quality'],
  ['Postini, no such user', '550 No such user - psmtp', 'list_quality'],
  ['syntax', '553 5.1.3 Invalid address syntax', 'list_quality'],

  // The receiver refuses this sender.
  ['Gmail, likely unsolicited', '550-5.7.1 [203.0.113.7] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.', 'reputation'],
  ['Gmail, unauthenticated', '550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been blocked.', 'reputation'],
  ['Gmail, rate-limited for unsolicited mail (4.7.0)', '421-4.7.0 [203.0.113.7] Our system has detected an unusual rate of unsolicited mail originating from your IP address.', 'reputation'],
  ['Outlook, network on the block list (S3150)', "550 5.7.1 Unfortunately, messages from [203.0.113.7] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors.", 'reputation'],
  ['Outlook, banned sending IP', '550 5.7.511 Access denied, banned sender[203.0.113.7]. To request removal from this list please forward this message to delist@microsoft.com.', 'reputation'],
  ['Office 365, traffic not accepted from this IP', '550 5.7.708 Access denied, traffic not accepted from this IP.', 'reputation'],
  ['Office 365, Spamhaus-listed MAIL FROM domain', '550 5.7.1 Service unavailable, MailFrom domain is listed in Spamhaus. To request removal from this list see https://www.spamhaus.org/query', 'reputation'],
  ['Yahoo, Spamhaus listing', "553 5.7.1 [BL21] Connections will not be accepted from 203.0.113.7, because the ip is in Spamhaus's list; see http://postmaster.yahoo.com/errors/550-bl23.html", 'reputation'],
  ['Yahoo, policy', '554 5.7.9 Message not accepted for policy reasons. See https://postmaster.yahooinc.com/error-codes', 'reputation'],
  ['Yahoo, deferred for complaints (4.7.0)', '421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes', 'reputation'],
  ['Proofpoint', '554 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=203.0.113.7', 'reputation'],
  ['Mimecast, anti-spoofing', '554 5.3.0 < #5.3.0 smtp; 550 Rejected by header based Anti-Spoofing policy: sam@acme-mail.example - https://community.mimecast.com/docs/DOC-1369#550 [VUJUo2t1Pr-x_8v9fCw5Og.uk90]>', 'reputation'],
  ['Mimecast, security policies', '554 Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554', 'reputation'],
  ['Barracuda reputation', '554 Service unavailable; Client host [203.0.113.7] blocked using Barracuda Reputation; http://www.barracudanetworks.com/reputation/?pr=1&ip=203.0.113.7', 'reputation'],
  ['Barracuda ESS', '550 permanent failure for one or more recipients (lead@prospect.example:blocked)', 'reputation'],
  ['Spamhaus via Postfix', '554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.7', 'reputation'],
  ['SpamCop', '554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using bl.spamcop.net; Blocked - see https://www.spamcop.net/bl.shtml?203.0.113.7', 'reputation'],
  ['SORBS', '554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using dnsbl.sorbs.net', 'reputation'],
  ['UCEPROTECT', '550 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using dnsbl-1.uceprotect.net; IP listed in UCEPROTECT-LEVEL1', 'reputation'],
  ['content filter', '550 5.7.1 Message rejected as spam by Content Filtering.', 'reputation'],
  ['sender reputation', '550 5.7.1 Message rejected: sender reputation too low (policy)', 'reputation'],

  // Try again later.
  ['Gmail, over quota', '452-4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp', 'transient'],
  ['Gmail, receiving too fast', '450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.', 'transient'],
  ['Gmail, recipient server unreachable', 'The recipient server did not accept our requests to connect. Learn more at https://support.google.com/mail/answer/7720 [mx.prospect.example. 192.0.2.10: timed out]', 'transient'],
  ['Office 365, temporary server error', '451 4.4.4 Temporary server error. Please try again later ATTR5', 'transient'],
  ['Office 365, new-sender throttling', '451 4.7.500 Server busy. Please try again later from [203.0.113.7]. (AS761)', 'transient'],
  ['mailbox full (5.2.2)', '552 5.2.2 Mailbox full', 'transient'],
  ['mailbox full, no code', 'Mailbox full', 'transient'],
  ['Postgrey greylisting', '450 4.2.0 <lead@prospect.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/prospect.example.html', 'transient'],
  ['greylisting worded as a policy', '450 4.7.1 <lead@prospect.example>: Recipient address rejected: Policy Rejection- greylisted, try again later.', 'transient'],
  ['greylisting without an enhanced code', '451 Greylisted, please try again in 300 seconds', 'transient'],
  ['try again later', '451 4.7.1 Please try again later', 'transient'],
  ['service unavailable (4xx, no enhanced code)', '421 Service not available, closing transmission channel', 'transient'],
  ['delivery expired', '550 5.4.7 Message expired: unable to deliver in 2880 minutes', 'transient'],
  ['a 4.1.1 user unknown is still a 4xx', '450 4.1.1 <lead@prospect.example>: Recipient address rejected: unverified address: unknown user', 'transient'],

  // The sending account itself cannot send.
  ['Gmail SMTP, wrong password', 'Invalid login: 535-5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials', 'account'],
  ['Office 365, SMTP AUTH disabled', '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.', 'account'],
  ['Gmail, sending limit', '550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852', 'account'],
  ['Outlook, bad outbound sender', '550 5.1.8 Access denied, bad outbound sender. AS(42684)', 'account'],
  ['sender domain not found', '550 5.1.8 <sam@acme-mail.example>: Sender address rejected: Domain not found', 'account'],
  ['connection refused (Node)', 'connect ECONNREFUSED 198.51.100.25:587', 'account'],
  ['connection reset (Node)', 'read ECONNRESET', 'account'],
  ['connection timeout (Node)', 'Connection timeout (ETIMEDOUT)', 'account'],

  // Nothing recognisable.
  ['no diagnostic', '', 'unknown'],
  ['a 5xx that says nothing', '554 Transaction failed', 'unknown'],
  ['message too big', '552 5.3.4 Message size exceeds fixed maximum message size', 'unknown'],
];

describe('bounce classes', () => {
  for (const [who, text, expected] of REAL_WORLD) {
    it(`${who} → ${expected}`, () => assert.equal(classifyBounce(text), expected, text));
  }

  // Where two rules could apply, which wins (the order in the table of src/domain/bounceClass.ts).
  const precedence: [string, string, BounceClass][] = [
    ['a 5.7.1 that also says "user unknown" is a block, not a bad address', '550 5.7.1 <lead@prospect.example>: Recipient address rejected: User unknown', 'reputation'],
    ['a blocklist name beats an address code', '550 5.1.1 Client host [203.0.113.7] blocked using zen.spamhaus.org', 'reputation'],
    ['a 4.7.x deferral naming complaints is reputation', '421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to unexpected volume or user complaints', 'reputation'],
    ['a 4.7.x deferral naming nothing is transient', '421-4.7.0 Try again later, closing connection. (EHLO)', 'transient'],
    ['greylisting beats a reputation word', '450 4.7.1 <lead@prospect.example>: Recipient address rejected: Policy Rejection- greylisted, try again later.', 'transient'],
    ['an account failure beats a 5.7.x code', '535 5.7.8 Error: authentication failed: authentication failure', 'account'],
    ['without a code, a reputation word beats an address word', '550 Recipient address rejected: blocked by policy', 'reputation'],
    ['the enhanced code beats the basic code', '550 4.2.2 Mailbox over quota', 'transient'],
    ['an IP address is not an enhanced code', 'The recipient server did not accept our requests to connect. [mx.prospect.example. 5.1.1.9: timed out]', 'transient'],
  ];
  for (const [what, text, expected] of precedence) {
    it(`precedence: ${what}`, () => assert.equal(classifyBounce(text), expected, text));
  }

  it('classes an EMAIL_ACCOUNT_DISCONNECTED alert as account, whatever its text', () => {
    assert.equal(classifyBounce('', 'EMAIL_ACCOUNT_DISCONNECTED'), 'account');
    assert.equal(classifyBounce('550 5.1.1 user unknown', 'EMAIL_ACCOUNT_DISCONNECTED'), 'account');
    assert.equal(classifyBounce('550 5.1.1 user unknown', 'EMAIL_BOUNCE'), 'list_quality');
  });
});
