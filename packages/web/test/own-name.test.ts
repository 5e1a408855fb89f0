import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ErrorCode, RESUME_GRACE_MS } from '@switchboard/protocol';
import { NAME_KEY, OwnName, RETRY_MARGIN_MS } from '../src/own-name.js';
import { memoryStore } from './memory-store.js';

/** A tab's name over a tab store and a browser store holding these names; `asked` lists what it asked the server for. */
function tab(names: { tab?: string; browser?: string } = {}) {
  const stores = { tab: memoryStore(), browser: memoryStore() };
  if (names.tab !== undefined) stores.tab.data.set(NAME_KEY, names.tab);
  if (names.browser !== undefined) stores.browser.data.set(NAME_KEY, names.browser);
  const asked: string[] = [];
  const own = new OwnName(stores, (name) => asked.push(name));
  return { own, stores, asked };
}

const GRACE_PASSED_MS = RESUME_GRACE_MS + RETRY_MARGIN_MS;

describe("OwnName, a tab's own nickname", () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it("asks for the tab's own name, else the one remembered in the browser (a first suggestion), else none", () => {
    assert.equal(tab({ tab: 'ada', browser: 'bob' }).own.wanted, 'ada');
    assert.equal(tab({ browser: 'bob' }).own.wanted, 'bob');
    assert.equal(tab().own.wanted, undefined);
    assert.equal(tab({ browser: 'two words' }).own.wanted, undefined, 'a name the server would refuse is not asked for');
  });

  it('takes a refusal of its own asking quietly: said once, and a taken name is asked for once more after the grace window', () => {
    const { own, asked } = tab({ browser: 'ada' });
    assert.equal(own.refused('ada', ErrorCode.NICK_TAKEN), 'say');
    mock.timers.tick(GRACE_PASSED_MS - 1);
    assert.deepEqual(asked, []);
    mock.timers.tick(1);
    assert.deepEqual(asked, ['ada']);
    assert.equal(own.refused('ada', ErrorCode.NICK_TAKEN), 'quiet', 'the second refusal is not said again');
    mock.timers.tick(10 * GRACE_PASSED_MS);
    assert.deepEqual(asked, ['ada'], 'once: another tab may hold it for good');
  });

  it('asks at once when the room hears the holder of the name go (whatever its case), instead of waiting out the window', () => {
    const { own, asked } = tab({ tab: 'Ada' });
    own.released('ada');
    assert.deepEqual(asked, [], 'nothing was refused yet');
    own.refused('Ada', ErrorCode.NICK_TAKEN);
    own.released('bob');
    assert.deepEqual(asked, []);
    own.released('ADA');
    assert.deepEqual(asked, ['Ada']);
    mock.timers.tick(GRACE_PASSED_MS);
    assert.deepEqual(asked, ['Ada'], 'that was the one retry');
  });

  it('shows the refusal of a name the person asked for, and stops asking for the remembered one once they chose', () => {
    const { own, asked } = tab({ browser: 'ada' });
    own.refused('ada', ErrorCode.NICK_TAKEN);
    own.choose('bea');
    assert.equal(own.refused('bea', ErrorCode.NICK_TAKEN), 'shown');
    mock.timers.tick(GRACE_PASSED_MS);
    assert.deepEqual(asked, []);
    own.choose('ada');
    assert.equal(own.refused('ada', ErrorCode.NICK_TAKEN), 'shown', 'the remembered name, typed by the person: theirs');
  });

  it('keeps a confirmed name for the tab and for new tabs, when the page or the person asked for it, not a default one', () => {
    const { own, stores } = tab({ browser: 'ada' });
    own.confirmed('AnonymousUser7');
    assert.equal(stores.tab.data.get(NAME_KEY), undefined);
    assert.equal(stores.browser.data.get(NAME_KEY), 'ada');
    own.confirmed('ada');
    assert.equal(stores.tab.data.get(NAME_KEY), 'ada');
    own.choose('bea');
    own.confirmed('bea');
    assert.equal(stores.tab.data.get(NAME_KEY), 'bea');
    assert.equal(stores.browser.data.get(NAME_KEY), 'bea');
    stores.tab.full = true;
    own.choose('cy');
    own.confirmed('cy'); // storage off: kept for this page only, and no throw
  });
});
