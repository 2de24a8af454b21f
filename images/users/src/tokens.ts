import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** A login token: 20 random bytes, hex in the link. */
export function newLoginToken(): string {
  return randomBytes(20).toString('hex');
}

export const LOGIN_TOKEN_PATTERN = /^[0-9a-f]{40}$/;

/** A session id: 32 random bytes. Only its hash is stored. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomString(length: number, alphabet = ALPHANUMERIC): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** A probe token: 32 characters of [a-z0-9] (about 165 bits), safe in a header and on a command line. */
export function newProbeToken(): string {
  return randomString(32);
}

/** An organisation id: lowercase [a-z0-9], starting with a letter, so `scope-app-<id>` is a valid Kubernetes name. */
export function newOrganizationId(): string {
  return randomString(1, 'abcdefghijklmnopqrstuvwxyz') + randomString(11);
}

/** The hex SHA-256 of a secret: what the database keeps instead of the secret. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Compares two secrets in constant time, whatever their lengths, by comparing their SHA-256 digests. */
export function secretsEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

const ADJECTIVES = [
  'amber', 'ancient', 'autumn', 'billowing', 'bitter', 'bold', 'brave', 'bright', 'broad', 'calm', 'clever', 'cold',
  'cool', 'crimson', 'curly', 'damp', 'dark', 'dawn', 'delicate', 'divine', 'dry', 'eager', 'empty', 'falling',
  'fancy', 'fragrant', 'frosty', 'gentle', 'golden', 'green', 'hidden', 'holy', 'icy', 'jolly', 'late', 'lively',
  'lingering', 'little', 'lucky', 'misty', 'morning', 'muddy', 'nameless', 'noisy', 'odd', 'old', 'orange', 'patient',
  'plain', 'polished', 'proud', 'purple', 'quiet', 'rapid', 'red', 'restless', 'rough', 'round', 'royal', 'shiny',
  'shy', 'silent', 'small', 'snowy', 'soft', 'solitary', 'sparkling', 'spring', 'square', 'steep', 'still', 'summer',
  'swift', 'tender', 'twilight', 'wandering', 'weathered', 'white', 'wild', 'winter', 'wispy', 'withered', 'young',
];

const NOUNS = [
  'bird', 'breeze', 'brook', 'bush', 'butterfly', 'cherry', 'cloud', 'darkness', 'dawn', 'dew', 'dream', 'dust',
  'feather', 'field', 'fire', 'firefly', 'flower', 'fog', 'forest', 'frog', 'frost', 'glade', 'glitter', 'grass',
  'haze', 'hill', 'lake', 'leaf', 'meadow', 'moon', 'morning', 'mountain', 'night', 'paper', 'pine', 'pond', 'rain',
  'resonance', 'river', 'sea', 'shadow', 'shape', 'silence', 'sky', 'smoke', 'snow', 'snowflake', 'sound', 'star',
  'sun', 'sunset', 'surf', 'thunder', 'tree', 'violet', 'voice', 'water', 'waterfall', 'wave', 'wildflower', 'wind',
  'wood',
];

/** A human-readable organisation name like "quiet-river-42"; the caller retries on a clash. */
export function newOrganizationName(extraDigits = 0): string {
  const adjective = ADJECTIVES[randomInt(ADJECTIVES.length)];
  const noun = NOUNS[randomInt(NOUNS.length)];
  const number = randomInt(10, 100 * 10 ** extraDigits);
  return `${adjective}-${noun}-${number}`;
}
