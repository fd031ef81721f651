// Order ids as the services keep them in memory: 16 bytes each instead of a 36-character string.

/** The hex digit a character code stands for, or -1. */
const hexValue = (code: number) =>
  code >= 48 && code <= 57 ? code - 48 : (code | 32) >= 97 && (code | 32) <= 102 ? (code | 32) - 87 : -1;

/**
 * Reads `id` as a UUID in its usual form (8-4-4-4-12 hex digits, either case) into its 16 bytes at `at` of `into`:
 * false, and nothing to rely on in `into`, when it is not one. The form is checked while the digits are read.
 */
function readUuid(id: string, into: Uint8Array, at: number): boolean {
  if (id.length !== 36) return false;
  for (let i = 0, b = at; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (id.charCodeAt(i) !== 45) return false;
      continue;
    }
    const high = hexValue(id.charCodeAt(i));
    const low = hexValue(id.charCodeAt(++i));
    if ((high | low) < 0) return false;
    into[b++] = (high << 4) | low;
  }
  return true;
}

const scratch = new Uint8Array(16);
/** Whether `id` is a UUID in its usual form (8-4-4-4-12 hex digits, either case). */
export const isUuid = (id: string) => readUuid(id, scratch, 0);

/**
 * The order ids of a ring of `limit` slots, each kept as its 16 bytes, and found again through an open-addressing
 * table of slot numbers (linear probing, at most half full): about 24 bytes an order, where a Map or a Set of id
 * strings takes about a hundred. The services keep their records of recent orders in it (the gateway's order history,
 * the workers' handled orders). Ids come back in lower case.
 */
export function orderIdIndex(limit: number) {
  // The ids' bytes, and the same memory as four 32-bit words an id: hashing and comparing read words, in JavaScript,
  // where Buffer.compare with offsets is a call into C++ for each probe.
  const words = new Int32Array(limit * 4);
  const bytes = Buffer.from(words.buffer);
  const used = new Uint8Array(limit);
  const capacity = 2 ** Math.ceil(Math.log2(limit * 2 + 1));
  const mask = capacity - 1;
  /** slot + 1 at each position; 0 is empty. */
  const table = new Int32Array(capacity);
  /** Where a lookup puts the id it looks for. */
  const probeWords = new Int32Array(4);
  const probe = new Uint8Array(probeWords.buffer);
  let size = 0;

  /** Where an id's probe starts: all 16 bytes mixed (murmur3's finalizer), as ids need not be random (tests' are not). */
  const home = (from: Int32Array, at: number) => {
    let h = 0;
    for (let w = at; w < at + 4; w++) h = Math.imul(h ^ from[w]!, 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) & mask;
  };
  /** The table position of the id in the four words of `from` at `at`; -1 when the table does not hold it. */
  const positionOf = (from: Int32Array, at: number) => {
    for (let i = home(from, at); table[i] !== 0; i = (i + 1) & mask) {
      const w = (table[i]! - 1) * 4;
      if (
        words[w] === from[at] &&
        words[w + 1] === from[at + 1] &&
        words[w + 2] === from[at + 2] &&
        words[w + 3] === from[at + 3]
      )
        return i;
    }
    return -1;
  };
  const remove = (slot: number) => {
    let hole = positionOf(words, slot * 4);
    // Backward-shift deletion: every entry after the hole that could sit in it moves up, so no probe stops early.
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const k = home(words, (table[j]! - 1) * 4);
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (stays) continue;
      table[hole] = table[j]!;
      hole = j;
    }
    table[hole] = 0;
    used[slot] = 0;
    size--;
  };

  return {
    get size() {
      return size;
    },
    /** The slot of an order id, if it holds one. */
    slotOf(id: string): number | undefined {
      if (!readUuid(id, probe, 0)) return undefined;
      const i = positionOf(probeWords, 0);
      return i === -1 ? undefined : table[i]! - 1;
    },
    /** Empties `slot`: the id it held is forgotten. */
    free(slot: number) {
      if (used[slot]) remove(slot);
    },
    /** Gives `slot` to `id` (a UUID; anything else is refused), forgetting the id it held. */
    set(slot: number, id: string) {
      if (!readUuid(id, probe, 0)) throw new RangeError(`not an order id: ${id}`);
      if (used[slot]) remove(slot);
      words.set(probeWords, slot * 4);
      let i = home(words, slot * 4);
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = slot + 1;
      used[slot] = 1;
      size++;
    },
    idOf(slot: number): string {
      const hex = bytes.toString('hex', slot * 16, slot * 16 + 16);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
  };
}
