/**
 * What a bounce or delivery failure says about the mailbox that sent it: a BounceClass (src/domain/events.ts) from
 * the SMTP diagnostic Smartlead passes on (`bounce_message.text`; Smartlead sends no code field) and, for alerts,
 * Smartlead's event type. Pure and table-tested (test/unit/bounceClass.test.ts, with real receivers' texts).
 *
 * The rules, in order; the first that matches decides:
 *
 * | # | Evidence                                                                   | Class        | Why this comes first                                                                                   |
 * |---|----------------------------------------------------------------------------|--------------|--------------------------------------------------------------------------------------------------------|
 * | 1 | EMAIL_ACCOUNT_DISCONNECTED; the sending account's own server failed: SMTP auth (535, 5.7.8, 5.7.139, "Username and Password not accepted", "authentication unsuccessful"), connection errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EAUTH, ESOCKET), the account's sending limit ("daily user sending limit exceeded"); the receiver refusing the sender's own address (5.1.7, 5.1.8 "bad outbound sender") | account | The mailbox cannot send at all, whatever the recipient. Smartlead talks only to the account's own SMTP server, so a socket error is between the two of them. A 535 5.7.8 must not read as a 5.7.x block. |
 * | 2 | Greylisting ("greylisted", "greylisting")                                 | transient    | Always a "come back in a few minutes", even when worded as a policy.                                   |
 * | 3 | A blocklist or a receiver naming this sender: Spamhaus, SpamCop, Barracuda, SORBS, UCEPROTECT, "blocked using", block/black list, RBL/DNSBL, Microsoft S3150 / "banned sending IP", Proofpoint's ipcheck, Mimecast's anti-spoofing and security policies, "unsolicited", "spam", "complaints", "reputation" | reputation | Names beat codes: receivers answer blocks with whatever code they like (4.7.0, 5.7.1, 5.0.0, 5.1.1), and Mautic's users report 5.7.1 policy blocks recorded as "unknown user" (docs: smartlead-notes.md). So a 4.7.x deferral that names complaints, spam or a blocklist is `reputation` too: it is how a receiver starts refusing a sender before it blocks it outright. |
 * | 4 | Enhanced status code (RFC 3463), the first in the text:                    |              | The code is the receiver's own classification.                                                         |
 * |   |  5.1.0–5.1.6, 5.1.10 (bad address), 5.2.1 (mailbox disabled), 5.4.4 (no route to the domain) | list_quality |                                                                                       |
 * |   |  5.7.x (delivery not authorised: policy, authentication, content)         | reputation   | A 5.7.1 that also says "user unknown" is a block (rule 3's reasoning). Exception: Exchange's RESOLVER.RST (a group that takes internal senders only: an address outreach cannot use) → list_quality. |
 * |   |  4.x.x (any), 5.2.2 (mailbox full), 5.4.7 (delivery expired)             | transient    | The receiver will, or may, take it later. 4.7.x without rule 3's names is a throttle, not a verdict.   |
 * |   |  any other 5.x.x (5.0.0, 5.4.1, 5.5.0 …)                                   | (rule 6)     | Codes that say too little: the words decide.                                                           |
 * | 5 | Basic reply code 4xx without an enhanced code                              | transient    | RFC 5321: a transient negative completion.                                                             |
 * | 6 | Words, for 5xx and code-less texts, in this order: mailbox full / over quota / try again later / deferred / timed out → transient; policy / blocked / rejected due to / banned → reputation; user unknown / no such user / does not exist / recipient not found / invalid recipient / mailbox unavailable / domain not found → list_quality | | A reputation word beats an address word ("blocked by policy: recipient rejected" is a block). |
 * | 7 | Nothing recognised (an empty text included)                                | unknown      | Counted as a delivery failure, never dropped.                                                          |
 *
 * Only `list_quality` makes a HardBounce (src/ingestion/smartleadWebhook.ts); every other class is a DeliveryFailure
 * carrying its class, so a reputation block is judged against the lower reputation thresholds and never hides among
 * bad addresses.
 */
import type { BounceClass } from './events';

/** Smartlead event types that are, by themselves, the sending account failing. */
const ACCOUNT_EVENTS = new Set(['EMAIL_ACCOUNT_DISCONNECTED']);

const ACCOUNT_TEXT = new RegExp(
  [
    String.raw`(^|\s)535[\s-]`,
    String.raw`\b5\.7\.(8|139)\b`,
    String.raw`\b5\.1\.[78]\b`,
    'username and password not accepted',
    'authentication (unsuccessful|failed|failure)',
    'invalid login',
    String.raw`\bE(CONNREFUSED|CONNRESET|TIMEDOUT|AUTH|SOCKET|CONNECTION)\b`,
    'daily user sending (quota|limit) exceeded',
    'bad outbound sender',
  ].join('|'),
  'i',
);

const GREYLISTING = /\bgr[ae]y-?list(ed|ing)?\b/i;

const REPUTATION_NAMES = new RegExp(
  [
    'spamhaus',
    'spamcop',
    'barracuda',
    'sorbs',
    'uceprotect',
    'blocked using',
    String.raw`\b(block|black) ?list`,
    String.raw`\b(dns)?rbl\b`,
    String.raw`\bdnsbl\b`,
    String.raw`\bS3150\b`,
    'banned sending ip',
    String.raw`ipcheck\.proofpoint\.com`,
    'anti-spoofing policy',
    'rejected due to security polic',
    'unsolicited',
    String.raw`\bspam\b`,
    'complaints',
    'reputation',
  ].join('|'),
  'i',
);

/** An enhanced code (4.x.x or 5.x.x), not a piece of an IP address or of a longer dotted number. */
const ENHANCED = /(?<![\d.])([45])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)/;
const BASIC = /(^|\s)([245])\d\d([\s-]|$)/;

const TRANSIENT_WORDS = /(mailbox (is )?full|over quota|quota exceeded|insufficient (system )?storage|try (again )?later|temporar(il)?y|deferred|timed? ?out\b|did not accept our requests to connect)/i;
const REPUTATION_WORDS = /(\bpolic(y|ies)\b|\bblocked\b|rejected due to|\bbanned\b)/i;
const LIST_QUALITY_WORDS =
  /(user unknown|unknown user|no such (user|recipient|mailbox)|does not exist|doesn't exist|doesn't have an? [\w.-]+ account|recipient not found|recipientnotfound|invalid recipient|recipient address rejected|address not found|mailbox (not found|unavailable)|no mailbox here|(host or )?domain (name )?not found|nxdomain|non-?existent domain)/i;

/** Enhanced status codes that settle the class on their own. */
function classOfEnhancedCode(cls: string, subject: number, detail: number, diagnostic: string): BounceClass | undefined {
  if (cls === '4') return 'transient';
  if (cls !== '5') return undefined;
  if (subject === 1 && (detail <= 6 || detail === 10)) return 'list_quality';
  if (subject === 2 && detail === 1) return 'list_quality';
  if (subject === 2 && detail === 2) return 'transient';
  if (subject === 4 && detail === 4) return 'list_quality';
  if (subject === 4 && detail === 7) return 'transient';
  if (subject === 7) return /RESOLVER\.RST\./.test(diagnostic) ? 'list_quality' : 'reputation';
  return undefined;
}

function classOfWords(diagnostic: string): BounceClass | undefined {
  if (TRANSIENT_WORDS.test(diagnostic)) return 'transient';
  if (REPUTATION_WORDS.test(diagnostic)) return 'reputation';
  if (LIST_QUALITY_WORDS.test(diagnostic)) return 'list_quality';
  return undefined;
}

/**
 * The class of one bounce or delivery failure. `diagnostic`: the SMTP text (may be empty); `eventType`: Smartlead's
 * event type when known (an EMAIL_ACCOUNT_DISCONNECTED alert is `account` whatever its text).
 */
export function classifyBounce(diagnostic: string, eventType?: string): BounceClass {
  if (eventType !== undefined && ACCOUNT_EVENTS.has(eventType)) return 'account';
  if (ACCOUNT_TEXT.test(diagnostic)) return 'account';
  if (GREYLISTING.test(diagnostic)) return 'transient';
  if (REPUTATION_NAMES.test(diagnostic)) return 'reputation';
  const enhanced = ENHANCED.exec(diagnostic);
  if (enhanced !== null) {
    const byCode = classOfEnhancedCode(enhanced[1]!, Number(enhanced[2]), Number(enhanced[3]), diagnostic);
    if (byCode !== undefined) return byCode;
  } else if (BASIC.exec(diagnostic)?.[2] === '4') {
    return 'transient';
  }
  return classOfWords(diagnostic) ?? 'unknown';
}
