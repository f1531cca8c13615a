export { exportToFile } from './exportToFile.js';
export { FileExport } from './FileExport.js';
export type { FileExportEvent, FileExportResult } from './FileExportEvent.js';
export type {
  ExportToFileOptions,
  FileExportFormat,
  FileExportResume,
} from './ExportToFileOptions.js';
export { isResumeIdNotFoundError, ResumeIdNotFoundError } from './ResumeIdNotFoundError.js';
