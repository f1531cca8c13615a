/**
 * inversify 8 integration: `import { MediatorModule } from 'fs-mediator/inversify'`.
 * @packageDocumentation
 */
export { MediatorModule } from './MediatorModule.js';
export type { BehaviorBinding, HandlerBinding, MediatorModuleOptions } from './MediatorModule.js';
