import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { isUuid, orderIdIndex } from '../../../common/restaurant/order-ids.ts';

const kept = '2f0ac1c4-1f3c-4b53-9a3c-0e1a2b3c4d5e';

it('When an id is not a UUID in its usual form, then the index never finds it, even when its hex digits are those of a kept id', () => {
  const index = orderIdIndex(10);
  index.set(0, kept);
  const near = [
    '',
    'not-a-uuid',
    kept.replaceAll('-', ''),
    `${kept}0`,
    kept.slice(1),
    // Each position in turn: a character that is not a hex digit, or a dash where a digit goes.
    ...Array.from({ length: 36 }, (_, i) => `${kept.slice(0, i)}${kept[i] === '-' ? '0' : 'g'}${kept.slice(i + 1)}`),
    ...Array.from({ length: 36 }, (_, i) => `${kept.slice(0, i)}${kept[i] === '-' ? 'x' : '-'}${kept.slice(i + 1)}`),
    ...[':', '@', '`', 'G', '/', ' '].map((c) => `${c}${kept.slice(1)}`),
  ];
  for (const id of near) {
    assert.equal(isUuid(id), false, id);
    assert.equal(index.slotOf(id), undefined, id);
  }
  assert.equal(index.slotOf(kept.toUpperCase()), 0);
});

it('When ids come and go, then the index finds exactly the ids its slots hold, as a Map would, also among ids that differ in their last digits only', () => {
  // Half the ids share their first 28 digits, so a lookup meets ids that differ from it in the last bytes only.
  const idOf = (step: number) =>
    step % 2 ? randomUUID() : `aaaaaaaa-bbbb-4ccc-8ddd-eeee${step.toString(16).padStart(8, '0')}`;
  const slots = 500;
  const index = orderIdIndex(slots);
  const model = new Map<number, string>();
  const seen: string[] = [];
  for (let step = 0; step < 20_000; step++) {
    const slot = (step * 7919) % slots;
    if (step % 5 === 4) {
      index.free(slot);
      model.delete(slot);
    } else {
      const id = idOf(step);
      index.set(slot, id);
      model.set(slot, id);
      seen.push(id);
    }
  }
  const held = new Map([...model].map(([slot, id]) => [id, slot]));
  assert.equal(index.size, model.size);
  for (const id of seen) assert.equal(index.slotOf(id), held.get(id), id);
  for (let step = 20_000; step < 21_000; step += 2) assert.equal(index.slotOf(idOf(step)), undefined);
  for (const [slot, id] of model) assert.equal(index.idOf(slot), id);
});
