// Order ids as the services keep them in memory: 16 bytes each instead of a 36-character string.

/** Whether `id` is a UUID in its usual form (8-4-4-4-12 hex digits, either case). */
export const isUuid = (id: string) => UUID.test(id);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The hex digit a character code stands for (the caller has checked it is one). */
const nibble = (code: number) => (code <= 57 ? code - 48 : (code | 32) - 87);

/**
 * The order ids of a ring of `limit` slots, each kept as its 16 bytes, and found again through an open-addressing
 * table of slot numbers (linear probing, at most half full): about 24 bytes an order, where a Map or a Set of id
 * strings takes about a hundred. The services keep their records of recent orders in it (the gateway's order history,
 * the workers' handled orders). Ids come back in lower case.
 */
export function orderIdIndex(limit: number) {
  const bytes = Buffer.alloc(limit * 16);
  const used = new Uint8Array(limit);
  const capacity = 2 ** Math.ceil(Math.log2(limit * 2 + 1));
  const mask = capacity - 1;
  /** slot + 1 at each position; 0 is empty. */
  const table = new Int32Array(capacity);
  /** Where a lookup puts the id it looks for. */
  const probe = Buffer.alloc(16);
  let size = 0;

  const write = (id: string, into: Buffer, at: number) => {
    for (let i = 0, b = at; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) continue;
      into[b++] = (nibble(id.charCodeAt(i)) << 4) | nibble(id.charCodeAt(++i));
    }
  };
  /** Where an id's probe starts: all 16 bytes mixed (murmur3's finalizer), as ids need not be random (tests' are not). */
  const home = (from: Buffer, at: number) => {
    let h = 0;
    for (let w = 0; w < 16; w += 4) h = Math.imul(h ^ from.readInt32LE(at + w), 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) & mask;
  };
  /** The table position of the id in the 16 bytes of `from` at `at`; -1 when the table does not hold it. */
  const positionOf = (from: Buffer, at: number) => {
    for (let i = home(from, at); table[i] !== 0; i = (i + 1) & mask) {
      const slot = table[i]! - 1;
      if (bytes.compare(from, at, at + 16, slot * 16, slot * 16 + 16) === 0) return i;
    }
    return -1;
  };
  const remove = (slot: number) => {
    let hole = positionOf(bytes, slot * 16);
    // Backward-shift deletion: every entry after the hole that could sit in it moves up, so no probe stops early.
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const k = home(bytes, (table[j]! - 1) * 16);
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
      if (!isUuid(id)) return undefined;
      write(id, probe, 0);
      const i = positionOf(probe, 0);
      return i === -1 ? undefined : table[i]! - 1;
    },
    /** Empties `slot`: the id it held is forgotten. */
    free(slot: number) {
      if (used[slot]) remove(slot);
    },
    /** Gives `slot` to `id`, forgetting the id it held. */
    set(slot: number, id: string) {
      if (used[slot]) remove(slot);
      write(id, bytes, slot * 16);
      let i = home(bytes, slot * 16);
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
