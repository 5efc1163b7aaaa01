import { MemoryStore } from '../../src/store/memory/memory-store.ts';
import { directoryStoreContract } from './contract/directory-store.case.ts';
import { readModelContract } from './contract/read-model.case.ts';
import { runtimeStoreContract } from './contract/runtime-store.case.ts';
import type { StoreSubject } from './contract/subject.ts';
import { workflowStoreContract } from './contract/workflow-store.case.ts';

async function memorySubject(): Promise<StoreSubject> {
  const store = new MemoryStore();
  return { writer: store, store, read: store, directory: store, workflows: store, cleanup: () => store.close() };
}

runtimeStoreContract('memory', memorySubject);
readModelContract('memory', memorySubject);
directoryStoreContract('memory', memorySubject);
workflowStoreContract('memory', memorySubject);
