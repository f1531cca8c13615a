/**
 * PostgreSQL change feed (transactional outbox) on PGlite or a PostgreSQL server:
 * `import { connect, installOutbox, watchTable, changeFeed } from 'fs-mediator/postgres'`.
 * @packageDocumentation
 */
export type { Database } from './Database.js';
export { connect } from './connect.js';
export type { ConnectOptions } from './connect.js';
export { pgDatabase } from './pgDatabase.js';
export type { PgDatabaseOptions } from './pgDatabase.js';
export { pgliteDatabase } from './pgliteDatabase.js';
export type { PgliteDatabaseOptions } from './pgliteDatabase.js';
export type { OutboxOptions } from './outboxNames.js';
export { installOutbox, outboxSql, uninstallOutbox } from './installOutbox.js';
export { unwatchTable, watchTable } from './watchTable.js';
export type { WatchTableOptions } from './watchTable.js';
export { publish } from './publish.js';
export type { PublishOptions } from './publish.js';
export { ChangeFeed, changeFeed } from './changeFeed.js';
export { changePosition, compareChangePositions } from './changePosition.js';
export type { ChangePositionSource } from './changePosition.js';
export type { ChangeFeedEvent, ChangeFeedOptions, ChangeItem } from './changeFeed.js';
export { ConsumerBusyError, isConsumerBusyError } from '../../errors/ConsumerBusyError.js';
