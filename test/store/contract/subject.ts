import type {
  DirectoryStore,
  ReadModel,
  RuntimeStore,
  TransitionWriter,
  WorkflowStore,
} from '../../../src/store/ports.ts';

/** One adapter family under test: the ports the contract suites exercise, over one backing store. */
export interface StoreSubject {
  writer: TransitionWriter;
  store: RuntimeStore;
  read: ReadModel;
  directory: DirectoryStore;
  workflows: WorkflowStore;
  /** Releases what `makeSubject` opened for one test (not the shared database). */
  cleanup(): Promise<void>;
}

export type MakeSubject = () => Promise<StoreSubject>;
