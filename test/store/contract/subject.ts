import type { RuntimeState } from '../../../src/engine/index.ts';
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
  /** Sets the runtime's projected row back to `state`, as a projection lagging the log leaves it. */
  rewindProjection(tenant: string, runtimeId: string, state: RuntimeState): Promise<void>;
  /** Releases what `makeSubject` opened for one test (not the shared database). */
  cleanup(): Promise<void>;
}

export type MakeSubject = () => Promise<StoreSubject>;
