import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAddress, checkInventory, checkName } from '../../workers/validation/checks.ts';

const address = { street: '12 Fulton Street', city: 'New York', zip: '10038' };

describe('address check', () => {
  it('When an online order has a street with a number and a zip in the area, then it passes', () => {
    assert.deepEqual(checkAddress('online', address), { check: 'address', result: 'passed', problems: [] });
  });
  it('When the zip is outside the delivery area, then it fails saying so', () => {
    assert.deepEqual(checkAddress('online', { ...address, zip: '94103' }).problems, [
      'zip 94103 is outside the delivery area',
    ]);
  });
  it('When the zip, street and city are malformed, then each is reported', () => {
    const result = checkAddress('online', { street: 'Fulton Street', city: '123', zip: '1003' });
    assert.equal(result.result, 'failed');
    assert.equal(result.problems.length, 3);
  });
  it('When the order is placed at a table, then the address check is skipped', () => {
    assert.equal(checkAddress('onsite', undefined).result, 'skipped');
  });
  it('When an online order has no address, then it fails', () => {
    assert.equal(checkAddress('online', undefined).result, 'failed');
  });
});

describe('name check', () => {
  for (const name of ['Aiko Tanaka', "Seán O'Brien", 'Jean-Luc Picard', 'Zoë', '田中 愛子', 'Dr. Who']) {
    it(`When the name is "${name}", then it passes`, () => assert.equal(checkName(name).result, 'passed'));
  }
  for (const [name, problem] of [
    ['A', /2 to 60/],
    ['R2-D2', /only contain letters/],
    ['test', /placeholder/],
    ['aaaa', /placeholder/],
    ['x'.repeat(61), /2 to 60/],
    ['..', /two letters/],
  ] as const) {
    it(`When the name is "${name.slice(0, 12)}", then it fails: ${problem.source}`, () => {
      const result = checkName(name);
      assert.equal(result.result, 'failed');
      assert.match(result.problems[0]!, problem);
    });
  }
});

describe('inventory check', () => {
  it('When every item is on the menu and in stock, then it passes', () => {
    assert.equal(
      checkInventory([
        { menuItemId: 'tuna-nigiri', quantity: 2 },
        { menuItemId: 'miso-soup', quantity: 1 },
      ]).result,
      'passed',
    );
  });
  it('When an item is unknown or out of stock, then each is reported', () => {
    assert.deepEqual(
      checkInventory([
        { menuItemId: 'unicorn-roll', quantity: 1 },
        { menuItemId: 'otoro-nigiri', quantity: 1 },
      ]).problems,
      ['unicorn-roll is not on the menu', 'otoro-nigiri is out of stock'],
    );
  });
});
