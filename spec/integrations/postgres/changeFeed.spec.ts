import { afterAll, beforeAll, describe } from '@jest/globals';
import { connect, type Database } from 'fs-mediator/postgres';
import { changeFeedBehaviors } from './changeFeedBehaviors.js';

// One in-memory PGlite for the whole file: starting one takes seconds.
let db: Database;
beforeAll(async () => {
  db = await connect({ dataDir: 'memory://' });
}, 30_000);
afterAll(() => db.close());

describe('changeFeed (PGlite)', () => {
  changeFeedBehaviors(() => db);
});
