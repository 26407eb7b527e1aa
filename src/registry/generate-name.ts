// Names for objects created with metadata.generateName, made as kube-apiserver's SimpleNameGenerator makes them: the
// prefix cut so the name stays within 63 characters, then five characters from an alphabet without vowels (no words)
// or look-alike digits.
import { randomInt } from 'node:crypto';

const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
const maxPrefix = 58;

/** How often a create tries a new generated name after finding one taken, before it answers 409. */
export const generateNameAttempts = 8;

export function generateName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += alphabet[randomInt(alphabet.length)];
  return prefix.slice(0, maxPrefix) + suffix;
}
